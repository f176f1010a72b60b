package dev.freshcreds.demo;

import com.amazonaws.AmazonServiceException;
import com.amazonaws.ClientConfiguration;
import com.amazonaws.client.builder.AwsClientBuilder.EndpointConfiguration;
import com.amazonaws.services.securitytoken.AWSSecurityTokenService;
import com.amazonaws.services.securitytoken.AWSSecurityTokenServiceClientBuilder;
import com.amazonaws.services.securitytoken.model.GetCallerIdentityRequest;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.freshcreds.FreshcredsAgent;
import dev.freshcreds.e2e.SimulatorProcess;
import dev.freshcreds.CredentialsSnapshot;
import dev.freshcreds.sdkv1.FreshcredsV1CredentialsProvider;
import dev.freshcreds.sdkv2.FreshcredsV2CredentialsProvider;
import software.amazon.awssdk.auth.credentials.AwsCredentials;
import software.amazon.awssdk.auth.credentials.AwsCredentialsProvider;
import software.amazon.awssdk.auth.credentials.AwsSessionCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.awscore.retry.AwsRetryStrategy;
import software.amazon.awssdk.http.urlconnection.UrlConnectionHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.sts.StsClient;
import software.amazon.awssdk.services.sts.model.StsException;

import java.net.URI;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * freshcreds demo: SDK v1 and v2 STS clients signed with freshcreds keep working across credential
 * rotations (compressed time: one simulated hour is six real seconds), while a client holding the
 * first credentials statically starts failing with ExpiredToken.
 *
 * <p>Run with {@code gradle demo}. Talks only to the simulator on 127.0.0.1.
 */
public final class Demo {
    private static final int ROTATIONS = 4;
    private static final ObjectMapper JSON = new ObjectMapper();

    private Demo() {
    }

    public static void main(String[] args) throws Exception {
        int code;
        try {
            code = run();
        } catch (Throwable t) {
            System.out.println("demo failed: " + t);
            t.printStackTrace(System.out);
            code = 2;
        }
        System.out.flush();
        System.exit(code);
    }

    private static int run() throws Exception {
        try (SimulatorProcess sim = SimulatorProcess.start(600, 3600, 1200)) {
            System.out.println("simulator on " + sim.baseUrl() + ", time x" + sim.timeScale()
                    + ": credentials live 3600 s (6 s real), a new generation every 2400 s (4 s real)");

            final FreshcredsAgent agent = FreshcredsAgent.builder()
                    .imdsEndpoint(sim.baseUrl())
                    .compressedClockForTesting(sim.originEpochMillis(), sim.timeScale())
                    .build();
            final FreshcredsV1CredentialsProvider v1Provider = FreshcredsV1CredentialsProvider.create(agent);
            final FreshcredsV2CredentialsProvider v2Provider = FreshcredsV2CredentialsProvider.create(agent);

            final AWSSecurityTokenService v1 = AWSSecurityTokenServiceClientBuilder.standard()
                    .withEndpointConfiguration(new EndpointConfiguration(sim.baseUrl(), "us-east-1"))
                    .withClientConfiguration(new ClientConfiguration().withMaxErrorRetry(0))
                    .withCredentials(v1Provider)
                    .build();
            final StsClient v2 = v2Client(sim, v2Provider);

            AwsCredentials first = v2Provider.resolveCredentials();
            AwsSessionCredentials firstSession = (AwsSessionCredentials) first;
            StsClient staticClient = v2Client(sim, StaticCredentialsProvider.create(AwsSessionCredentials.create(
                    firstSession.accessKeyId(), firstSession.secretAccessKey(), firstSession.sessionToken())));
            System.out.println("first credentials: " + agent.currentSnapshot()
                    + "; static client with them: " + callStatic(staticClient));

            final AtomicBoolean stop = new AtomicBoolean();
            final AtomicLong v1Calls = new AtomicLong();
            final AtomicLong v2Calls = new AtomicLong();
            final AtomicLong failures = new AtomicLong();
            final Map<String, AtomicLong> failureCodes = new ConcurrentHashMap<String, AtomicLong>();
            List<Thread> workers = new ArrayList<Thread>();
            for (int i = 0; i < 4; i++) {
                final boolean useV1 = i % 2 == 0;
                Thread t = new Thread(new Runnable() {
                    @Override
                    public void run() {
                        while (!stop.get()) {
                            try {
                                if (useV1) {
                                    v1.getCallerIdentity(new GetCallerIdentityRequest());
                                    v1Calls.incrementAndGet();
                                } else {
                                    v2.getCallerIdentity();
                                    v2Calls.incrementAndGet();
                                }
                            } catch (AmazonServiceException e) {
                                fail(e.getErrorCode());
                            } catch (StsException e) {
                                fail(e.awsErrorDetails().errorCode());
                            } catch (RuntimeException e) {
                                fail(e.getClass().getSimpleName());
                            }
                            try {
                                Thread.sleep(10);
                            } catch (InterruptedException e) {
                                return;
                            }
                        }
                    }

                    private void fail(String code) {
                        failures.incrementAndGet();
                        AtomicLong n = failureCodes.get(code);
                        if (n == null) {
                            failureCodes.putIfAbsent(code, new AtomicLong());
                            n = failureCodes.get(code);
                        }
                        n.incrementAndGet();
                    }
                }, (useV1 ? "sdk-v1-caller-" : "sdk-v2-caller-") + i);
                t.setDaemon(true);
                workers.add(t);
                t.start();
            }

            long startGeneration = sim.stats().generation();
            long lastGeneration = startGeneration;
            String staticResult = "";
            long staticExpired = 0;
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
            while (lastGeneration < startGeneration + ROTATIONS) {
                if (System.nanoTime() > deadline) {
                    System.out.println("timed out waiting for rotations; simulator stderr: " + sim.stderrTail());
                    break;
                }
                Thread.sleep(100);
                SimulatorProcess.Stats stats = sim.stats();
                if (stats.generation() == lastGeneration) {
                    continue;
                }
                lastGeneration = stats.generation();
                staticResult = callStatic(staticClient);
                if (staticResult.startsWith("ExpiredToken")) {
                    staticExpired++;
                }
                stats = sim.stats();
                CredentialsSnapshot snap = agent.currentSnapshot();
                System.out.printf("rotation %d: simulator generation %d, agent generation %d (%s), calls v1=%d v2=%d, "
                                + "freshcreds failures %d, ExpiredToken: freshcreds %d / static client %d, "
                                + "agent refreshes %s; static client now: %s%n",
                        lastGeneration - startGeneration, stats.generation(), snap.generation(), snap.accessKeyId(),
                        v1Calls.get(), v2Calls.get(), failures.get(), stats.stsExpiredToken() - staticExpired,
                        staticExpired, refreshes(agent.statsJson()), staticResult);
            }
            // Let the callers run a moment past the last rotation too.
            Thread.sleep(1000);
            stop.set(true);
            for (Thread t : workers) {
                t.join(10_000);
            }
            String finalStatic = callStatic(staticClient);
            if (finalStatic.startsWith("ExpiredToken")) {
                staticExpired++;
            }
            SimulatorProcess.Stats stats = sim.stats();
            long freshcredsExpired = stats.stsExpiredToken() - staticExpired;
            System.out.println();
            System.out.println("summary:");
            System.out.printf("  rotations observed:           %d%n", lastGeneration - startGeneration);
            System.out.printf("  freshcreds calls:             v1 %d, v2 %d%n", v1Calls.get(), v2Calls.get());
            System.out.printf("  freshcreds failures:          %d %s%n", failures.get(), failureCodes);
            System.out.printf("  STS ok / ExpiredToken / other: %d / %d (freshcreds %d, static client %d) / %d%n",
                    stats.stsOk(), stats.stsExpiredToken(), freshcredsExpired, staticExpired, stats.stsOtherFailures());
            System.out.printf("  IMDS credential fetches:      %d %s%n",
                    stats.credentialGets(), stats.credentialGetsByGeneration());
            System.out.printf("  agent stats:                  %s%n", agent.statsJson());
            System.out.printf("  static-credentials client:    %s%n", finalStatic);

            v1.shutdown();
            v2.close();
            staticClient.close();
            agent.close();

            boolean enoughRotations = lastGeneration - startGeneration >= ROTATIONS;
            boolean ok = failures.get() == 0 && freshcredsExpired == 0 && stats.stsOtherFailures() == 0
                    && enoughRotations && v1Calls.get() > 0 && v2Calls.get() > 0;
            if (!finalStatic.startsWith("ExpiredToken")) {
                System.out.println("  note: the static client did not fail with ExpiredToken (" + finalStatic + ")");
            }
            System.out.println(ok ? "RESULT: freshcreds clients saw zero failures across "
                    + (lastGeneration - startGeneration) + " rotations"
                    : "RESULT: FAILED (failures " + failures.get() + ", rotations " + (lastGeneration - startGeneration) + ")");
            return ok ? 0 : 1;
        }
    }

    private static StsClient v2Client(SimulatorProcess sim, AwsCredentialsProvider credentials) {
        return StsClient.builder()
                .endpointOverride(URI.create(sim.baseUrl()))
                .region(Region.US_EAST_1)
                .httpClient(UrlConnectionHttpClient.create())
                .overrideConfiguration(o -> o.retryStrategy(AwsRetryStrategy.doNotRetry()))
                .credentialsProvider(credentials)
                .build();
    }

    private static String callStatic(StsClient client) {
        try {
            client.getCallerIdentity();
            return "OK";
        } catch (StsException e) {
            return e.awsErrorDetails().errorCode() + " (HTTP " + e.statusCode() + ")";
        } catch (SdkException e) {
            return e.getClass().getSimpleName() + ": " + e.getMessage();
        }
    }

    /** The agent's refresh counters, whatever the native stats call them. */
    private static String refreshes(String statsJson) {
        try {
            JsonNode n = JSON.readTree(statsJson);
            StringBuilder sb = new StringBuilder();
            Iterator<Map.Entry<String, JsonNode>> it = n.fields();
            while (it.hasNext()) {
                Map.Entry<String, JsonNode> e = it.next();
                if (e.getKey().toLowerCase().contains("refresh") && e.getValue().isValueNode()) {
                    sb.append(sb.length() == 0 ? "" : ", ").append(e.getKey()).append('=').append(e.getValue().asText());
                }
            }
            return sb.length() == 0 ? statsJson : "{" + sb + "}";
        } catch (Exception e) {
            return statsJson;
        }
    }
}
