package dev.freshcreds.e2e;

import dev.freshcreds.ForkedJvm;
import dev.freshcreds.FreshcredsAgent;
import dev.freshcreds.FreshcredsException;
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
import static org.junit.Assert.assertTrue;

/**
 * The SDK settings' Java system properties, each in a JVM of its own, as an application sets them
 * with {@code -D}: the builder reads them at {@code build()} and native code gives them the SDK's
 * place, after the builder's option and before the environment. IMDS is the simulator or a closed
 * loopback port; nothing leaves the machine.
 */
public class SdkSettingsForkedTest extends SimulatorTestBase {
    private static final String CLOSED_PORT = "http://127.0.0.1:9";
    private static final String STATIC_KEY_ID = "AKIASIMSTATIC0000001";
    private static final String STATIC_SECRET = "simStaticSecretKey0000000000000000000001";

    @Rule
    public TemporaryFolder tmp = new TemporaryFolder();

    /**
     * Runs in the forked JVM: builds an agent with no option (or, with the argument
     * {@code imdsDisabled=false}, that one option) and prints its source and access key id, or the
     * error that building or the first fetch gave.
     */
    public static final class Probe {
        public static void main(String[] args) {
            FreshcredsAgent.Builder builder = FreshcredsAgent.builder();
            if (Arrays.asList(args).contains("imdsDisabled=false")) {
                builder.imdsDisabled(false);
            }
            try (FreshcredsAgent agent = builder.build()) {
                System.out.println("source=" + agent.source());
                System.out.println("key=" + agent.currentSnapshot().accessKeyId());
            } catch (FreshcredsException e) {
                System.out.println("error=" + e.getClass().getSimpleName() + ": " + e.getMessage());
            }
            System.exit(0);
        }
    }

    /** The forked JVM's output; its environment is the test task's, IMDS on the simulator unless {@code env} says otherwise. */
    private static String run(List<String> jvmArgs, String[] env, String[] removeEnv, String... args) throws Exception {
        List<String> all = new ArrayList<String>(jvmArgs);
        all.add(0, "-Djava.library.path=" + System.getProperty("java.library.path"));
        ForkedJvm.Spec spec = new ForkedJvm.Spec(Probe.class)
                .jvmArgs(all.toArray(new String[0]))
                .args(args)
                .removeEnv(removeEnv)
                .env("AWS_EC2_METADATA_SERVICE_ENDPOINT", sim.baseUrl())
                .env("FRESHCREDS_LOG", "error");
        for (int i = 0; i < env.length; i += 2) {
            spec.env(env[i], env[i + 1]);
        }
        ForkedJvm jvm = spec.run();
        assertEquals(jvm.output, 0, jvm.exit);
        assertTrue("-Xcheck:jni is clean:\n" + jvm.output, jvm.jniCheckClean());
        return jvm.output;
    }

    private static String run(String... jvmArgs) throws Exception {
        return run(Arrays.asList(jvmArgs), new String[0], new String[0]);
    }

    private String simKey() throws Exception {
        String out = run();
        assertTrue("without settings the agent takes the simulator's instance role:\n" + out, out.contains("source=imds\n"));
        return out.substring(out.indexOf("key=") + 4).split("\n")[0].trim();
    }

    @Test(timeout = 120_000)
    public void theDisableEc2MetadataPropertyTurnsImdsOffAndTheBuilderOptionWinsOverIt() throws Exception {
        String key = simKey();
        long tokens = sim.stats().get("token_puts");
        String out = run("-Daws.disableEc2Metadata=true");
        assertTrue("IMDS off, nothing else configured:\n" + out,
                out.contains("error=InvalidConfigurationException: ") && out.contains("no credential source is configured"));
        assertEquals("IMDS was not asked:\n" + out, tokens, sim.stats().get("token_puts"));
        // the builder's option comes before the system property
        out = run(Arrays.asList("-Daws.disableEc2Metadata=TRUE"), new String[0], new String[0], "imdsDisabled=false");
        assertTrue(out, out.contains("source=imds\n") && out.contains("key=" + key));
        // and the system property before the environment
        out = run(Arrays.asList("-Daws.disableEc2Metadata=false"), new String[] {"AWS_EC2_METADATA_DISABLED", "true"}, new String[0]);
        assertTrue(out, out.contains("source=imds\n"));
    }

    /** An SDK v1 app keeps the properties SDK v1 reads ({@code com.amazonaws.sdk.*}); SDK v2's name wins over them. */
    @Test(timeout = 120_000)
    public void sdkV1PropertyNamesAreHonouredAfterSdkV2Ones() throws Exception {
        String key = simKey();
        long tokens = sim.stats().get("token_puts");
        String out = run("-Dcom.amazonaws.sdk.disableEc2Metadata=true");
        assertTrue("SDK v1's property turns IMDS off:\n" + out,
                out.contains("error=InvalidConfigurationException: ") && out.contains("no credential source is configured"));
        assertEquals("IMDS was not asked:\n" + out, tokens, sim.stats().get("token_puts"));
        out = run("-Dcom.amazonaws.sdk.disableEc2Metadata=true", "-Daws.disableEc2Metadata=false");
        assertTrue("SDK v2's property comes first:\n" + out, out.contains("source=imds\n"));
        out = run(Arrays.asList("-Dcom.amazonaws.sdk.ec2MetadataServiceEndpointOverride=" + sim.baseUrl()),
                new String[] {"AWS_EC2_METADATA_SERVICE_ENDPOINT", CLOSED_PORT}, new String[0]);
        assertTrue("SDK v1's endpoint property comes before the environment:\n" + out,
                out.contains("source=imds\n") && out.contains("key=" + key));
    }

    @Test(timeout = 120_000)
    public void theEndpointPropertyWinsOverTheEnvironment() throws Exception {
        String key = simKey();
        String out = run(Arrays.asList("-Daws.ec2MetadataServiceEndpoint=" + sim.baseUrl()),
                new String[] {"AWS_EC2_METADATA_SERVICE_ENDPOINT", CLOSED_PORT}, new String[0]);
        assertTrue(out, out.contains("source=imds\n") && out.contains("key=" + key));
        out = run(Arrays.asList("-Daws.ec2MetadataServiceEndpoint=" + CLOSED_PORT, "-Daws.ec2MetadataServiceTimeout=0.3"),
                new String[] {"AWS_METADATA_SERVICE_NUM_ATTEMPTS", "1"}, new String[0]);
        assertTrue("the property's closed port, not the environment's simulator:\n" + out,
                out.contains("error=CredentialsUnavailableException") && out.contains(CLOSED_PORT));
    }

    @Test(timeout = 120_000)
    public void theProfilePropertiesSelectTheProfileAndItsFiles() throws Exception {
        String key = simKey();
        File credentials = tmp.newFile("credentials");
        Files.write(credentials.toPath(), ("[dev]\naws_access_key_id = " + STATIC_KEY_ID + "\naws_secret_access_key = " + STATIC_SECRET
                + "\n").getBytes(StandardCharsets.UTF_8));
        File config = tmp.newFile("config");
        Files.write(config.toPath(), ("[profile dev]\nec2_metadata_service_endpoint = " + CLOSED_PORT + "\n").getBytes(StandardCharsets.UTF_8));
        String out = run("-Daws.profile=dev", "-Daws.sharedCredentialsFile=" + credentials.getPath());
        assertTrue(out, out.contains("source=profile\n") && out.contains("key=" + STATIC_KEY_ID));
        // the profile's IMDS key comes after the environment's endpoint, and aws.configFile picks the file
        out = run("-Daws.profile=dev", "-Daws.configFile=" + config.getPath());
        assertTrue(out, out.contains("source=imds\n") && out.contains("key=" + key));
    }

    @Test(timeout = 120_000)
    public void withoutHomeOrUserprofileTheFilesAreUnderTheJvmsUserHome() throws Exception {
        File home = tmp.newFolder("java-home");
        File aws = new File(home, ".aws");
        assertTrue(aws.mkdirs());
        Files.write(new File(aws, "credentials").toPath(), ("[default]\naws_access_key_id = " + STATIC_KEY_ID
                + "\naws_secret_access_key = " + STATIC_SECRET + "\n").getBytes(StandardCharsets.UTF_8));
        String[] removed = {"HOME", "USERPROFILE", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"};
        String out = run(Arrays.asList("-Duser.home=" + home.getPath()), new String[] {"AWS_EC2_METADATA_DISABLED", "true"}, removed);
        assertTrue(out, out.contains("source=profile\n") && out.contains("key=" + STATIC_KEY_ID));
    }
}
