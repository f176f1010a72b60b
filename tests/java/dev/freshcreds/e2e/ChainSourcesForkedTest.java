package dev.freshcreds.e2e;

import com.amazonaws.ClientConfiguration;
import com.amazonaws.client.builder.AwsClientBuilder.EndpointConfiguration;
import com.amazonaws.services.securitytoken.AWSSecurityTokenService;
import com.amazonaws.services.securitytoken.AWSSecurityTokenServiceClientBuilder;
import com.amazonaws.services.securitytoken.model.GetCallerIdentityRequest;
import dev.freshcreds.ForkedJvm;
import dev.freshcreds.FreshcredsAgent;
import dev.freshcreds.sdkv1.FreshcredsV1CredentialsProvider;
import dev.freshcreds.sdkv2.FreshcredsV2CredentialsProvider;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;
import software.amazon.awssdk.http.urlconnection.UrlConnectionHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.sts.StsClient;

import java.io.File;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

/**
 * Each source of the default chain end to end, in a JVM of its own whose environment holds just
 * that source (a temp HOME for the files): the agent picks the source the SDKs would, and the real
 * SDK v1 and v2 STS clients sign with what it gives, verified by the simulator.
 */
public class ChainSourcesForkedTest extends SimulatorTestBase {
    private static final String STATIC_KEY_ID = "AKIASIMSTATIC0000001";
    private static final String STATIC_SECRET = "simStaticSecretKey0000000000000000000001";

    @Rule
    public TemporaryFolder tmp = new TemporaryFolder();

    /** Runs in the forked JVM: args[0] is the simulator's base URL. Prints source, ARNs, shadowed. */
    public static final class Probe {
        public static void main(String[] args) throws Exception {
            String endpoint = args[0];
            FreshcredsAgent agent = FreshcredsAgent.builder().build(); // everything from the environment
            FreshcredsV1CredentialsProvider v1Provider = FreshcredsV1CredentialsProvider.create(agent);
            FreshcredsV2CredentialsProvider v2Provider = FreshcredsV2CredentialsProvider.create(agent);
            AWSSecurityTokenService v1 = AWSSecurityTokenServiceClientBuilder.standard()
                    .withEndpointConfiguration(new EndpointConfiguration(endpoint, "us-east-1"))
                    .withClientConfiguration(new ClientConfiguration().withMaxErrorRetry(0))
                    .withCredentials(v1Provider)
                    .build();
            StsClient v2 = StsClient.builder()
                    .endpointOverride(URI.create(endpoint))
                    .region(Region.US_EAST_1)
                    .httpClient(UrlConnectionHttpClient.create())
                    .credentialsProvider(v2Provider)
                    .build();
            System.out.println("source=" + agent.source());
            System.out.println("v1arn=" + v1.getCallerIdentity(new GetCallerIdentityRequest()).getArn());
            System.out.println("v2arn=" + v2.getCallerIdentity().arn());
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(3);
            while (agent.shadowed().isEmpty() && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            System.out.println("shadowed=" + agent.shadowed());
            v1.shutdown();
            v2.close();
            agent.close();
            System.exit(0);
        }
    }

    private String run(Map<String, String> extraEnv, String... removeEnv) throws Exception {
        ForkedJvm jvm = new ForkedJvm.Spec(Probe.class)
                .jvmArgs("-Djava.library.path=" + System.getProperty("java.library.path"))
                .args(sim.baseUrl())
                .removeEnv(removeEnv)
                .env("AWS_EC2_METADATA_SERVICE_ENDPOINT", sim.baseUrl()) // the instance role is there too
                .env("AWS_REGION", "us-east-1")
                .env("FRESHCREDS_LOG", "warn")
                .env(extraEnv)
                .run();
        assertEquals(jvm.output, 0, jvm.exit);
        assertTrue("-Xcheck:jni is clean:\n" + jvm.output, jvm.jniCheckClean());
        return jvm.output;
    }

    private static Map<String, String> env(String... keysAndValues) {
        Map<String, String> m = new java.util.LinkedHashMap<String, String>();
        for (int i = 0; i < keysAndValues.length; i += 2) {
            m.put(keysAndValues[i], keysAndValues[i + 1]);
        }
        return m;
    }

    private static void assertOutcome(String output, String source, String arn, String shadowed) {
        assertTrue(output, output.contains("source=" + source + "\n"));
        assertTrue(output, output.contains("v1arn=" + arn));
        assertTrue(output, output.contains("v2arn=" + arn));
        assertTrue(output, output.contains("shadowed=" + shadowed));
    }

    @Test(timeout = 120_000)
    public void environmentVariables() throws Exception {
        String out = run(env("AWS_ACCESS_KEY_ID", STATIC_KEY_ID, "AWS_SECRET_ACCESS_KEY", STATIC_SECRET));
        assertOutcome(out, "environment", "arn:aws:iam::123456789012:user/sim-static-user", "[imds]");
        assertTrue("the warning names the shadowed role:\n" + out, out.contains("freshcreds-demo-role"));
    }

    @Test(timeout = 120_000)
    public void staticKeysInTheCredentialsFileOfATempHome() throws Exception {
        File home = tmp.newFolder("home");
        File aws = new File(home, ".aws");
        assertTrue(aws.mkdirs());
        Files.write(new File(aws, "credentials").toPath(),
                ("[default]\naws_access_key_id = " + STATIC_KEY_ID + "\naws_secret_access_key = " + STATIC_SECRET + "\n").getBytes(StandardCharsets.UTF_8));
        String out = run(env("HOME", home.getPath()), "AWS_SHARED_CREDENTIALS_FILE", "AWS_CONFIG_FILE");
        assertOutcome(out, "profile", "arn:aws:iam::123456789012:user/sim-static-user", "[imds]");
    }

    @Test(timeout = 120_000)
    public void roleArnProfileAssumesTheRoleThroughSts() throws Exception {
        File home = tmp.newFolder("home-role");
        File aws = new File(home, ".aws");
        assertTrue(aws.mkdirs());
        Files.write(new File(aws, "credentials").toPath(),
                ("[base]\naws_access_key_id = " + STATIC_KEY_ID + "\naws_secret_access_key = " + STATIC_SECRET + "\n").getBytes(StandardCharsets.UTF_8));
        Files.write(new File(aws, "config").toPath(),
                "[profile app]\nrole_arn = arn:aws:iam::123456789012:role/app\nsource_profile = base\n".getBytes(StandardCharsets.UTF_8));
        String out = run(env("HOME", home.getPath(), "AWS_PROFILE", "app", "AWS_ENDPOINT_URL_STS", sim.baseUrl()),
                "AWS_SHARED_CREDENTIALS_FILE", "AWS_CONFIG_FILE");
        assertOutcome(out, "profile", "arn:aws:sts::123456789012:assumed-role/app/", "[imds]");
    }

    @Test(timeout = 120_000)
    public void webIdentity() throws Exception {
        File token = tmp.newFile("token");
        Files.write(token.toPath(), "eyJhbGciOiJub25lIn0.eyJzdWIiOiJhcHAifQ.".getBytes(StandardCharsets.UTF_8));
        String out = run(env("AWS_WEB_IDENTITY_TOKEN_FILE", token.getPath(), "AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/irsa",
                "AWS_ROLE_SESSION_NAME", "pod-1", "AWS_ENDPOINT_URL_STS", sim.baseUrl()));
        assertOutcome(out, "webIdentity", "arn:aws:sts::123456789012:assumed-role/irsa/pod-1", "[imds]");
    }

    @Test(timeout = 120_000)
    public void containerCredentials() throws Exception {
        String out = run(env("AWS_CONTAINER_CREDENTIALS_FULL_URI", sim.baseUrl() + "/container/credentials",
                "AWS_CONTAINER_AUTHORIZATION_TOKEN", "sim-container-token"));
        assertOutcome(out, "container", "arn:aws:sts::123456789012:assumed-role/sim-container-role/", "[imds]");
    }

    @Test(timeout = 120_000)
    public void theInstanceRoleWhenNothingElseIsConfigured() throws Exception {
        String out = run(env());
        assertOutcome(out, "imds", "arn:aws:sts::123456789012:assumed-role/freshcreds-demo-role/", "[]");
    }
}
