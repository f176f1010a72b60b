package dev.freshcreds;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code java -jar freshcreds.jar doctor}: the troubleshooting checklist for
 * {@code 403 ExpiredToken} as one command, run with the application's JVM, system properties,
 * {@code -Djava.library.path} and environment so that it sees what the application sees.
 *
 * <pre>
 * java [-D...] -jar freshcreds.jar doctor [--json] [--call-sts] [--sts-endpoint URL] [--sdk v1|v2]
 *                                         [--root DIR] [--option KEY=VALUE]...
 * </pre>
 *
 * <p>The checks are the native library's (the same as the {@code freshcreds-doctor} binary's);
 * this class passes on the options an agent built with no builder option would get, the SDK
 * settings' system properties and the JVM's proxy properties. Exit code: 0 every check passed, 1 a
 * warning, 2 a failure (the native library failing to load included), 3 a wrong command line.
 */
public final class Doctor {
    /** Exit code for a wrong command line, beyond the checks' 0, 1 and 2. */
    static final int EXIT_USAGE = 3;
    /** Exit code when the checks cannot run at all (the native library does not load). */
    static final int EXIT_FAIL = 2;

    private static final String USAGE =
            "usage: java [-D...] -jar freshcreds.jar doctor [--json] [--call-sts] [--sts-endpoint URL] [--sdk v1|v2]\n"
            + "                                            [--root DIR] [--option KEY=VALUE]...\n"
            + "\n"
            + "Runs the checklist for 403 ExpiredToken with this JVM's settings: the credential chain, IMDS (token,\n"
            + "role, credentials, throttling), proxies, the credentials' lifetime, the clock and its synchronisation.\n"
            + "\n"
            + "  --json               the report as JSON (schema freshcreds-doctor/1)\n"
            + "  --call-sts           make one signed STS GetCallerIdentity with the credentials found\n"
            + "  --sts-endpoint URL   ...at this endpoint (implies --call-sts)\n"
            + "  --sdk v1|v2          the chain order of the application's SDK (default v1, as FreshcredsAgent.builder())\n"
            + "  --root DIR           read /proc and /etc under DIR (a chroot)\n"
            + "  --option KEY=VALUE   an agent option by its native key (e.g. source=imds)\n"
            + "\n"
            + "Exit code: 0 all passed, 1 a warning, 2 a failure, 3 a wrong command line.";

    /** The JVM's proxy properties the proxy check reads. */
    private static final String[] PROXY_PROPERTIES = {"http.proxyHost", "http.proxyPort", "http.nonProxyHosts"};

    private Doctor() {
    }

    /**
     * Runs the doctor and exits with its code.
     *
     * @param args {@code doctor} and its flags
     */
    public static void main(String[] args) {
        System.exit(run(args, System.out, System.err));
    }

    /** Runs the doctor, printing the report to {@code out}; returns the exit code. */
    static int run(String[] args, PrintStream out, PrintStream err) {
        if (args.length == 0 || "--help".equals(args[0]) || "-h".equals(args[0])) {
            out.println(USAGE);
            return args.length == 0 ? EXIT_USAGE : 0;
        }
        if (!"doctor".equals(args[0])) {
            err.println("freshcreds: unknown command '" + args[0] + "'\n\n" + USAGE);
            return EXIT_USAGE;
        }
        FreshcredsAgent.Builder builder = FreshcredsAgent.builder();
        List<String> settings = new ArrayList<String>();
        boolean json = false;
        for (int i = 1; i < args.length; i++) {
            String arg = args[i];
            String value = i + 1 < args.length ? args[i + 1] : null;
            if ("--json".equals(arg)) {
                json = true;
                add(settings, "json", "true");
            } else if ("--call-sts".equals(arg)) {
                add(settings, "callSts", "true");
            } else if (("--sts-endpoint".equals(arg) || "--root".equals(arg) || "--sdk".equals(arg) || "--option".equals(arg))
                    && value == null) {
                err.println("freshcreds doctor: " + arg + " needs a value\n\n" + USAGE);
                return EXIT_USAGE;
            } else if ("--sts-endpoint".equals(arg)) {
                add(settings, "stsEndpoint", value);
                i++;
            } else if ("--root".equals(arg)) {
                add(settings, "root", value);
                i++;
            } else if ("--sdk".equals(arg)) {
                if ("v2".equalsIgnoreCase(value)) {
                    builder.chainOrder(SdkChainOrder.SDK_V2);
                } else if ("v1".equalsIgnoreCase(value)) {
                    builder.chainOrder(SdkChainOrder.SDK_V1);
                } else {
                    err.println("freshcreds doctor: --sdk takes v1 or v2, not '" + value + "'\n\n" + USAGE);
                    return EXIT_USAGE;
                }
                i++;
            } else if ("--option".equals(arg)) {
                int eq = value.indexOf('=');
                if (eq <= 0) {
                    err.println("freshcreds doctor: --option takes KEY=VALUE, not '" + value + "'\n\n" + USAGE);
                    return EXIT_USAGE;
                }
                builder.nativeOption(value.substring(0, eq), value.substring(eq + 1));
                i++;
            } else {
                err.println("freshcreds doctor: unknown argument '" + arg + "'\n\n" + USAGE);
                return EXIT_USAGE;
            }
        }
        for (String property : PROXY_PROPERTIES) {
            String value = System.getProperty(property);
            if (value != null) {
                add(settings, property, value);
            }
        }
        try {
            NativeLibraryLoader.ensureLoaded();
            String[] result = NativeAgent.doctor(builder.nativeOptions(), settings.toArray(new String[0]));
            out.print(result[1]);
            out.flush();
            return Integer.parseInt(result[0]);
        } catch (NativeLibraryUnavailableException e) {
            // The one check that cannot be native: report it in the same shape.
            String finding = "the freshcreds native library does not load: " + e.getMessage();
            if (json) {
                out.println("{\n  \"schema\": \"freshcreds-doctor/1\",\n  \"status\": \"fail\",\n  \"exit_code\": 2,\n"
                        + "  \"checks\": [{\"id\": \"native.library\", \"status\": \"fail\", \"finding\": " + jsonString(finding)
                        + ", \"fix\": " + jsonString("Follow the message: deploy the library on -Djava.library.path or use the jar's bundled copy.")
                        + ", \"details\": {}}]\n}");
            } else {
                out.println("FAIL  native.library       " + finding);
            }
            return EXIT_FAIL;
        } catch (FreshcredsException e) {
            err.println("freshcreds doctor: " + e.getMessage());
            return EXIT_USAGE;
        }
    }

    private static void add(List<String> settings, String key, String value) {
        settings.add(key);
        settings.add(value);
    }

    /** A JSON string literal. */
    private static String jsonString(String text) {
        StringBuilder b = new StringBuilder("\"");
        for (char c : text.toCharArray()) {
            if (c == '"' || c == '\\') {
                b.append('\\').append(c);
            } else if (c < 0x20) {
                b.append(String.format("\\u%04x", (int) c));
            } else {
                b.append(c);
            }
        }
        return b.append('"').toString();
    }
}
