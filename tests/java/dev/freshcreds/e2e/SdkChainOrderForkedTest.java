package dev.freshcreds.e2e;

import com.amazonaws.auth.AWSCredentials;
import com.amazonaws.auth.DefaultAWSCredentialsProviderChain;
import dev.freshcreds.ForkedJvm;
import dev.freshcreds.FreshcredsAgent;
import dev.freshcreds.SdkChainOrder;
import dev.freshcreds.sdkv1.FreshcredsV1CredentialsProvider;
import dev.freshcreds.sdkv2.FreshcredsV2CredentialsProvider;
import org.junit.Test;
import software.amazon.awssdk.auth.credentials.AwsCredentials;
import software.amazon.awssdk.auth.credentials.DefaultCredentialsProvider;

import java.util.LinkedHashMap;
import java.util.Map;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

/**
 * Each provider builder copies its SDK's default chain order: with one key pair in the environment
 * and another in Java system properties, SDK v2's {@code DefaultCredentialsProvider} takes the system
 * properties' and SDK v1's {@code DefaultAWSCredentialsProviderChain} the environment's, and
 * {@code FreshcredsV2CredentialsProvider.builder()} and {@code FreshcredsV1CredentialsProvider.builder()}
 * take the same, each in a JVM of its own with those inputs. {@code FreshcredsAgent.builder()} keeps
 * SDK v1's order, and {@code source(...)} still overrides a provider's default. IMDS is disabled
 * and pointed at a closed loopback port in the child JVMs; no call leaves the machine.
 */
public class SdkChainOrderForkedTest {
    private static final String ENV_KEY_ID = "AKIAENVIRONMENTKEY01";
    private static final String ENV_SECRET = "environmentSecret0000000000000000000001";
    private static final String PROP_KEY_ID = "AKIASYSTEMPROPKEY001";
    private static final String PROP_SECRET = "systemPropertySecret000000000000000001";
    private static final String CLOSED_IMDS = "http://127.0.0.1:9/";

    /** Runs in the forked JVM: prints, per provider, the access key id it resolved (never a secret). */
    public static final class Probe {
        public static void main(String[] args) throws Exception {
            AwsCredentials v2Sdk = DefaultCredentialsProvider.builder().build().resolveCredentials();
            AWSCredentials v1Sdk = new DefaultAWSCredentialsProviderChain().getCredentials();
            System.out.println("v2sdk=" + v2Sdk.accessKeyId());
            System.out.println("v1sdk=" + v1Sdk.getAWSAccessKeyId());

            try (FreshcredsV2CredentialsProvider v2 = FreshcredsV2CredentialsProvider.builder().build()) {
                AwsCredentials c = v2.resolveCredentials();
                System.out.println("v2freshcreds=" + c.accessKeyId());
                System.out.println("v2source=" + v2.agent().source());
                System.out.println("v2sameSecret=" + c.secretAccessKey().equals(v2Sdk.secretAccessKey()));
            }
            FreshcredsV1CredentialsProvider v1 = FreshcredsV1CredentialsProvider.builder().build();
            try {
                AWSCredentials c = v1.getCredentials();
                System.out.println("v1freshcreds=" + c.getAWSAccessKeyId());
                System.out.println("v1source=" + v1.agent().source());
                System.out.println("v1sameSecret=" + c.getAWSSecretKey().equals(v1Sdk.getAWSSecretKey()));
            } finally {
                v1.close();
            }
            try (FreshcredsAgent agent = FreshcredsAgent.builder().build()) {
                System.out.println("agent=" + agent.currentSnapshot().accessKeyId());
                System.out.println("agentsource=" + agent.source());
            }
            for (SdkChainOrder order : SdkChainOrder.values()) {
                try (FreshcredsAgent agent = FreshcredsAgent.builder().chainOrder(order).build()) {
                    System.out.println("agent" + order.name().replace("_", "") + "=" + agent.currentSnapshot().accessKeyId());
                }
            }
            // a pinned order replaces each provider's default
            try (FreshcredsV2CredentialsProvider v2 = FreshcredsV2CredentialsProvider.builder()
                    .source("environment", "systemProperties").build()) {
                System.out.println("v2pinned=" + v2.resolveCredentials().accessKeyId());
            }
            FreshcredsV1CredentialsProvider v1Pinned = FreshcredsV1CredentialsProvider.builder()
                    .source("systemProperties", "environment").build();
            try {
                System.out.println("v1pinned=" + v1Pinned.getCredentials().getAWSAccessKeyId());
            } finally {
                v1Pinned.close();
            }
            System.exit(0);
        }
    }

    private static Map<String, String> run(boolean environment, boolean systemProperties) throws Exception {
        ForkedJvm.Spec spec = new ForkedJvm.Spec(Probe.class)
                .jvmArgs("-Djava.library.path=" + System.getProperty("java.library.path"),
                        // IMDS off for both SDKs and for freshcreds, and pointed at a closed loopback port
                        "-Daws.disableEc2Metadata=true",
                        "-Daws.ec2MetadataServiceEndpoint=" + CLOSED_IMDS,
                        "-Dcom.amazonaws.sdk.disableEc2Metadata=true",
                        "-Dcom.amazonaws.sdk.ec2MetadataServiceEndpointOverride=" + CLOSED_IMDS,
                        "-Daws.java.v1.disableDeprecationAnnouncement=true",
                        "-Daws.region=us-east-1",
                        // the isolated, empty AWS files of the test task
                        "-Daws.configFile=" + System.getProperty("aws.configFile"),
                        "-Daws.sharedCredentialsFile=" + System.getProperty("aws.sharedCredentialsFile"))
                .removeEnv("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",
                        "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN", "AWS_CONTAINER_CREDENTIALS_FULL_URI",
                        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI")
                .env("AWS_EC2_METADATA_DISABLED", "true")
                .env("AWS_EC2_METADATA_SERVICE_ENDPOINT", CLOSED_IMDS)
                .env("AWS_REGION", "us-east-1")
                .env("FRESHCREDS_LOG", "warn");
        if (environment) {
            spec.env("AWS_ACCESS_KEY_ID", ENV_KEY_ID).env("AWS_SECRET_ACCESS_KEY", ENV_SECRET);
        }
        if (systemProperties) {
            // SDK v2 reads aws.secretAccessKey, SDK v1 aws.secretKey: both set, so each SDK sees both sources
            spec.jvmArgs("-Daws.accessKeyId=" + PROP_KEY_ID, "-Daws.secretAccessKey=" + PROP_SECRET,
                    "-Daws.secretKey=" + PROP_SECRET);
        }
        ForkedJvm jvm = spec.run();
        assertEquals(jvm.output, 0, jvm.exit);
        assertTrue("-Xcheck:jni is clean:\n" + jvm.output, jvm.jniCheckClean());
        Map<String, String> out = new LinkedHashMap<String, String>();
        for (String line : jvm.output.split("\n")) {
            int eq = line.indexOf('=');
            if (eq > 0 && line.matches("^[a-zA-Z0-9]+=.*")) {
                out.put(line.substring(0, eq), line.substring(eq + 1).trim());
            }
        }
        out.put("(output)", jvm.output);
        return out;
    }

    @Test(timeout = 120_000)
    public void eachProviderPicksWhatItsSdksDefaultChainPicks() throws Exception {
        Map<String, String> out = run(true, true);
        String output = out.get("(output)");
        // the SDKs disagree on these inputs: the test is not vacuous
        assertEquals("SDK v2: system properties first\n" + output, PROP_KEY_ID, out.get("v2sdk"));
        assertEquals("SDK v1: environment first\n" + output, ENV_KEY_ID, out.get("v1sdk"));

        assertEquals("v2 provider = SDK v2's DefaultCredentialsProvider\n" + output, out.get("v2sdk"), out.get("v2freshcreds"));
        assertEquals(output, "systemProperties", out.get("v2source"));
        assertEquals(output, "true", out.get("v2sameSecret"));

        assertEquals("v1 provider = SDK v1's DefaultAWSCredentialsProviderChain\n" + output, out.get("v1sdk"), out.get("v1freshcreds"));
        assertEquals(output, "environment", out.get("v1source"));
        assertEquals(output, "true", out.get("v1sameSecret"));

        assertEquals("FreshcredsAgent.builder() keeps SDK v1's order\n" + output, ENV_KEY_ID, out.get("agent"));
        assertEquals(output, "environment", out.get("agentsource"));
        assertEquals("chainOrder(SDK_V2) picks what SDK v2 picks\n" + output, out.get("v2sdk"), out.get("agentSDKV2"));
        assertEquals("chainOrder(SDK_V1) picks what SDK v1 picks\n" + output, out.get("v1sdk"), out.get("agentSDKV1"));

        assertEquals("source(...) replaces the v2 default\n" + output, ENV_KEY_ID, out.get("v2pinned"));
        assertEquals("source(...) replaces the v1 default\n" + output, PROP_KEY_ID, out.get("v1pinned"));
    }

    /** With one of the two sources only, every provider and both SDKs agree on it. */
    @Test(timeout = 120_000)
    public void withOneSourceAllAgree() throws Exception {
        for (boolean env : new boolean[] {true, false}) {
            Map<String, String> out = run(env, !env);
            String expected = env ? ENV_KEY_ID : PROP_KEY_ID;
            for (String k : new String[] {"v2sdk", "v1sdk", "v2freshcreds", "v1freshcreds", "agent", "v2pinned", "v1pinned"}) {
                assertEquals(k + "\n" + out.get("(output)"), expected, out.get(k));
            }
        }
    }
}
