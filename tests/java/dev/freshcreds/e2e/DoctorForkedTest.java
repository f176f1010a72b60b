package dev.freshcreds.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.freshcreds.Doctor;
import dev.freshcreds.ForkedJvm;
import org.junit.AfterClass;
import org.junit.BeforeClass;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertTrue;

/**
 * {@code java ... dev.freshcreds.Doctor doctor} (the jar's Main-Class) in a JVM of its own under
 * {@code -Xcheck:jni}, against the simulator on 127.0.0.1 for IMDS and STS, with a temporary host
 * root whose chrony uses Amazon Time Sync. The JVM's system properties and environment reach the
 * checks as they reach an agent.
 */
public class DoctorForkedTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String ENV_SECRET = "environmentSecret0000000000000000000001";
    private static final String ENV_TOKEN = "environmentSessionToken000000000000001";

    @Rule
    public TemporaryFolder tmp = new TemporaryFolder();

    private static SimulatorProcess sim;

    @BeforeClass
    public static void startSimulator() throws Exception {
        // Real time and 6-hour credentials, as on EC2: the credentials check judges them on the host clock.
        sim = SimulatorProcess.start(1, 21600, 1200);
    }

    @AfterClass
    public static void stopSimulator() {
        if (sim != null) {
            sim.close();
        }
    }

    private File hostRoot() throws Exception {
        File root = tmp.newFolder("root");
        new File(root, "proc/412").mkdirs();
        Files.write(new File(root, "proc/412/comm").toPath(), "chronyd\n".getBytes(StandardCharsets.UTF_8));
        new File(root, "etc").mkdirs();
        Files.write(new File(root, "etc/chrony.conf").toPath(),
                "server 169.254.169.123 prefer iburst minpoll 4 maxpoll 4\n".getBytes(StandardCharsets.UTF_8));
        return root;
    }

    private ForkedJvm doctor(List<String> jvmArgs, String[] env, String... args) throws Exception {
        File home = tmp.newFolder();
        List<String> all = new ArrayList<String>(jvmArgs);
        all.add(0, "-Djava.library.path=" + System.getProperty("java.library.path"));
        all.add("-Duser.home=" + home.getAbsolutePath());
        ForkedJvm.Spec spec = new ForkedJvm.Spec(Doctor.class)
                .jvmArgs(all.toArray(new String[0]))
                .args(args)
                .removeEnv("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE", "HTTP_PROXY",
                        "http_proxy", "NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy", "FRESHCREDS_LOG")
                .env("HOME", home.getAbsolutePath())
                .env("AWS_REGION", "us-east-1")
                .env("AWS_EC2_METADATA_SERVICE_ENDPOINT", sim.baseUrl());
        for (int i = 0; i < env.length; i += 2) {
            spec.env(env[i], env[i + 1]);
        }
        ForkedJvm jvm = spec.run();
        assertTrue("-Xcheck:jni is clean:\n" + jvm.output, jvm.jniCheckClean());
        return jvm;
    }

    private static JsonNode report(ForkedJvm jvm) throws Exception {
        int start = jvm.output.indexOf('{');
        assertTrue("JSON in:\n" + jvm.output, start >= 0);
        return JSON.readTree(jvm.output.substring(start));
    }

    private static JsonNode check(JsonNode report, String id) {
        for (JsonNode c : report.get("checks")) {
            if (id.equals(c.get("id").asText())) {
                return c;
            }
        }
        throw new AssertionError("no " + id + " check in " + report);
    }

    @Test(timeout = 120_000)
    public void theJsonReportNamesEachStepAndExitsWithTheWorstStatus() throws Exception {
        ForkedJvm jvm = doctor(new ArrayList<String>(), new String[0],
                "doctor", "--json", "--root", hostRoot().getAbsolutePath(), "--sts-endpoint", sim.baseUrl());
        JsonNode report = report(jvm);
        assertEquals("freshcreds-doctor/1", report.get("schema").asText());
        for (String id : Arrays.asList("chain.source", "imds.token", "imds.role", "imds.credentials", "imds.throttling", "credentials",
                "sts.call", "proxy.env", "proxy.jvm", "clock.daemon")) {
            assertEquals(id + ": " + jvm.output, "pass", check(report, id).get("status").asText());
        }
        assertTrue(jvm.output, check(report, "imds.role").get("finding").asText().contains("freshcreds-demo-role"));
        int worst = 0;
        for (JsonNode c : report.get("checks")) {
            worst = Math.max(worst, Arrays.asList("pass", "warn", "fail").indexOf(c.get("status").asText()));
        }
        assertEquals(jvm.output, worst, report.get("exit_code").asInt());
        assertEquals(jvm.output, worst, jvm.exit);
    }

    @Test(timeout = 120_000)
    public void temporaryKeysInTheEnvironmentFailWithoutShowingTheSecret() throws Exception {
        ForkedJvm jvm = doctor(new ArrayList<String>(),
                new String[] {"AWS_ACCESS_KEY_ID", "ASIAENVIRONMENTKEY01", "AWS_SECRET_ACCESS_KEY", ENV_SECRET, "AWS_SESSION_TOKEN", ENV_TOKEN},
                "doctor", "--root", hostRoot().getAbsolutePath());
        assertEquals(jvm.output, 2, jvm.exit);
        assertTrue(jvm.output, jvm.output.contains("FAIL  chain.temporary_keys"));
        assertTrue(jvm.output, jvm.output.contains("shadow this instance's IAM role 'freshcreds-demo-role'"));
        assertFalse("no secret in the report:\n" + jvm.output, jvm.output.contains(ENV_SECRET) || jvm.output.contains(ENV_TOKEN));
        assertTrue(jvm.output, jvm.output.contains("freshcreds doctor "));
    }

    /**
     * The JVM's default non-proxy list exempts every loopback address, so the simulator's endpoint
     * can never show the fault: here IMDS is disabled (nothing is sent anywhere) and the proxy check
     * judges, from the settings alone, an endpoint on a reserved host that never resolves.
     */
    @Test(timeout = 120_000)
    public void theJvmsProxyPropertiesAreChecked() throws Exception {
        ForkedJvm jvm = doctor(Arrays.asList("-Dhttp.proxyHost=proxy.invalid", "-Dhttp.proxyPort=3128", "-Dhttp.nonProxyHosts=localhost",
                        "-Daws.ec2MetadataServiceEndpoint=http://imds.invalid"),
                new String[0], "doctor", "--json", "--option", "imdsDisabled=true", "--root", hostRoot().getAbsolutePath());
        JsonNode report = report(jvm);
        JsonNode proxy = check(report, "proxy.jvm");
        assertEquals(jvm.output, "warn", proxy.get("status").asText());
        assertNotNull(proxy.get("fix"));
        assertTrue(jvm.output, proxy.get("fix").asText().contains("-Dhttp.nonProxyHosts=\"localhost|"));
        assertTrue(jvm.output, proxy.get("fix").asText().contains("|imds.invalid"));
        assertEquals(jvm.output, "fail", check(report, "imds.enabled").get("status").asText());
    }

    @Test(timeout = 120_000)
    public void aLoopbackEndpointIsExemptFromTheJvmProxyByDefault() throws Exception {
        ForkedJvm jvm = doctor(Arrays.asList("-Dhttp.proxyHost=proxy.invalid", "-Dhttp.nonProxyHosts=localhost"),
                new String[0], "doctor", "--json", "--root", hostRoot().getAbsolutePath());
        JsonNode report = report(jvm);
        assertEquals(jvm.output, "pass", check(report, "proxy.jvm").get("status").asText());
        // freshcreds itself takes no proxy: IMDS answers
        assertEquals(jvm.output, "pass", check(report, "imds.credentials").get("status").asText());
    }

    @Test(timeout = 120_000)
    public void aWrongCommandLineExitsThree() throws Exception {
        assertEquals(3, doctor(new ArrayList<String>(), new String[0]).exit);
        assertEquals(3, doctor(new ArrayList<String>(), new String[0], "doctor", "--bogus").exit);
        assertEquals(3, doctor(new ArrayList<String>(), new String[0], "doctor", "--sdk", "v3").exit);
    }
}
