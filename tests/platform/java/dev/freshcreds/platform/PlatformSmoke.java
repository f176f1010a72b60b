package dev.freshcreds.platform;

import dev.freshcreds.FreshcredsAgent;
import dev.freshcreds.NativeLibraryLoader;
import dev.freshcreds.sdkv2.FreshcredsV2CredentialsProvider;
import software.amazon.awssdk.auth.credentials.AwsCredentials;
import software.amazon.awssdk.awscore.retry.AwsRetryStrategy;
import software.amazon.awssdk.http.urlconnection.UrlConnectionHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.sts.StsClient;
import software.amazon.awssdk.services.sts.model.GetCallerIdentityResponse;

import java.net.URI;
import java.util.ArrayList;
import java.util.List;

/**
 * The platform smoke test: run in a JVM of the platform under test (an arm64 JVM under qemu-user,
 * say) with only the freshcreds jar, SDK v2 and this class on the class path. It loads the library
 * the jar bundles for this platform, takes credentials from the simulator's IMDS, and signs STS
 * GetCallerIdentity calls that the simulator verifies.
 *
 * <p>{@code -Dfreshcreds.platform.endpoint=http://127.0.0.1:PORT} (the simulator, started by
 * scripts/test-platforms.sh) and {@code -Dfreshcreds.platform.expectKey=linux-aarch_64} are
 * required; {@code -Dfreshcreds.platform.calls=N} (default 3) sets the number of STS calls.
 * Prints one line per check and ends with {@code N passed, N failed}; exits 1 on any failure.
 */
public final class PlatformSmoke {
    private final List<String> failures = new ArrayList<String>();
    private int passed;

    private void check(String name, boolean ok, String detail) {
        if (ok) {
            passed++;
            System.out.println("ok - " + name);
        } else {
            failures.add(name);
            System.out.println("not ok - " + name + ": " + detail);
        }
    }

    public static void main(String[] args) {
        PlatformSmoke smoke = new PlatformSmoke();
        try {
            smoke.run();
        } catch (RuntimeException | Error e) {
            smoke.check("no unexpected exception", false, e.toString());
            e.printStackTrace();
        }
        System.out.println(smoke.passed + " passed, " + smoke.failures.size() + " failed");
        System.exit(smoke.failures.isEmpty() ? 0 : 1);
    }

    private static String required(String property) {
        String value = System.getProperty(property);
        if (value == null || value.trim().isEmpty()) {
            throw new IllegalArgumentException("-D" + property + " is required");
        }
        return value.trim();
    }

    private void run() {
        String endpoint = required("freshcreds.platform.endpoint");
        String expectKey = required("freshcreds.platform.expectKey");
        int calls = Integer.parseInt(System.getProperty("freshcreds.platform.calls", "3"));
        System.out.println("# JVM " + System.getProperty("java.vm.name") + " " + System.getProperty("java.version")
                + " on " + System.getProperty("os.name") + "/" + System.getProperty("os.arch"));

        long started = System.nanoTime();
        FreshcredsAgent agent = FreshcredsAgent.builder()
                .imdsEndpoint(endpoint)
                .source("imds")
                .build();
        try {
            String from = NativeLibraryLoader.loadedFrom();
            System.out.println("# library loaded from " + from + " in " + (System.nanoTime() - started) / 1_000_000 + " ms");
            check("the jar knows its version, so the library's version was checked against it",
                    NativeLibraryLoader.jarVersion() != null, "dev/freshcreds/version.properties is missing from the jar");
            check("the library bundled for " + expectKey + " was loaded from the jar",
                    from != null && from.contains("native/" + expectKey + "/"), "loaded from " + from);

            FreshcredsV2CredentialsProvider provider = FreshcredsV2CredentialsProvider.create(agent);
            AwsCredentials credentials = provider.resolveCredentials();
            check("credentials come from the simulator's IMDS",
                    credentials.accessKeyId() != null && !credentials.accessKeyId().isEmpty() && "imds".equals(agent.source()),
                    "source " + agent.source());

            StsClient sts = StsClient.builder()
                    .endpointOverride(URI.create(endpoint))
                    .region(Region.US_EAST_1)
                    .httpClient(UrlConnectionHttpClient.create())
                    .overrideConfiguration(c -> c.retryStrategy(AwsRetryStrategy.doNotRetry()))
                    .credentialsProvider(provider)
                    .build();
            try {
                for (int i = 1; i <= calls; i++) {
                    long t0 = System.nanoTime();
                    GetCallerIdentityResponse identity = sts.getCallerIdentity();
                    check("signed STS GetCallerIdentity " + i + " verified by the simulator ("
                                    + (System.nanoTime() - t0) / 1_000_000 + " ms)",
                            identity.arn() != null && identity.arn().contains(":assumed-role/"), "arn " + identity.arn());
                }
            } finally {
                sts.close();
            }
        } finally {
            agent.close();
        }
        check("the agent closed", agent.isClosed(), "still open");
    }
}
