package dev.freshcreds.demo;

import com.amazonaws.AmazonServiceException;
import com.amazonaws.client.builder.AwsClientBuilder.EndpointConfiguration;
import com.amazonaws.services.securitytoken.AWSSecurityTokenService;
import com.amazonaws.services.securitytoken.AWSSecurityTokenServiceClientBuilder;
import com.amazonaws.services.securitytoken.model.GetCallerIdentityRequest;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.freshcreds.FreshcredsAgent;
import dev.freshcreds.e2e.SimulatorProcess;
import dev.freshcreds.sdkv1.FreshcredsV1CredentialsProvider;
import dev.freshcreds.sdkv2.FreshcredsV2CredentialsProvider;
import software.amazon.awssdk.awscore.exception.AwsServiceException;
import software.amazon.awssdk.http.urlconnection.UrlConnectionHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.sts.StsClient;

import java.net.URI;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Soak: 32 compressed hours of mixed IMDS and clock faults against SDK v1 and v2 STS clients that
 * use freshcreds with its SDK hooks and the SDKs' default retries, as a production service would.
 * Prints one line per simulated hour and a summary: calls, failures, refreshes, IMDS requests and
 * the largest caller latency. Not part of {@code check}; run with {@code gradle soak}.
 *
 * <p>The last fault is an IMDS outage longer than the credentials' lifetime. Calls fail once the
 * credentials in hand expire (nothing better exists), but after this or any IMDS outage no call may
 * fail more than {@value #RECOVERY_BOUND_SIM_SECONDS} simulated seconds after IMDS is back (the refresher retries
 * on its short recovery schedule, not the 300–600 s backoff); the soak exits with status 1 if one does,
 * or if the IMDS requests made during the outage exceed the bound the recovery schedule sets.
 *
 * <p>One real second is twenty simulated minutes; credentials live six hours and IMDS rotates them
 * 75 minutes before expiry, as EC2 does well ahead of the advisory window. Only 127.0.0.1 is used.
 */
public final class Soak {
    private static final double SCALE = 1200;
    private static final int HOURS = 32;
    /** Credentials' lifetime and the long outage, in simulated hours. */
    private static final int LIFETIME_HOURS = 6;
    private static final double LONG_OUTAGE_START = 23.0;
    private static final double LONG_OUTAGE_END = 30.0;
    /** No call may fail more than this long (simulated) after the long outage ends. */
    private static final long RECOVERY_BOUND_SIM_SECONDS = 60;
    private static final int THREADS_PER_SDK = 4;
    private static final ObjectMapper JSON = new ObjectMapper();

    /** One scheduled change: at {@code hour} (simulated), PATCH these faults, or revoke. */
    private static final class Step {
        final double hour;
        final String faults;
        final boolean revoke;
        final String label;

        Step(double hour, String label, String faults, boolean revoke) {
            this.hour = hour;
            this.label = label;
            this.faults = faults;
            this.revoke = revoke;
        }
    }

    private static final Step[] SCHEDULE = {
        new Step(1.0, "IMDS throttles (429) for 30 min", "{\"imds_throttle\":true}", false),
        new Step(1.5, "throttling over", "{\"imds_throttle\":false}", false),
        new Step(2.0, "IMDS down for 45 min", "{\"imds_down\":true}", false),
        new Step(2.75, "IMDS back", "{\"imds_down\":false}", false),
        new Step(3.0, "session revoked", null, true),
        new Step(4.0, "host clock 10 min fast", "{\"aws_clock_skew_ms\":-600000}", false),
        new Step(6.0, "host clock 10 min slow", "{\"aws_clock_skew_ms\":600000}", false),
        new Step(8.0, "host clock right again", "{\"aws_clock_skew_ms\":0}", false),
        new Step(9.0, "truncated credential bodies for 20 min", "{\"credentials_truncate\":true}", false),
        new Step(9.33, "bodies whole again", "{\"credentials_truncate\":false}", false),
        new Step(10.0, "IMDS serves expired credentials for 30 min", "{\"serve_expired_credentials\":true}", false),
        new Step(10.5, "IMDS serves valid credentials again", "{\"serve_expired_credentials\":false}", false),
        new Step(11.0, "token PUT hangs for 20 min", "{\"token_put_hang\":true}", false),
        new Step(11.33, "token PUT answers again", "{\"token_put_hang\":false}", false),
        new Step(12.0, "IMDS answers take 500 ms for 10 min", "{\"imds_delay_ms\":500}", false),
        new Step(12.17, "IMDS fast again", "{\"imds_delay_ms\":0}", false),
        new Step(13.0, "session revoked", null, true),
        new Step(13.5, "session revoked", null, true),
        new Step(14.0, "IMDS throttles for 2 h", "{\"imds_throttle\":true}", false),
        new Step(16.0, "throttling over", "{\"imds_throttle\":false}", false),
        new Step(18.0, "IMDS down for 90 min", "{\"imds_down\":true}", false),
        new Step(19.5, "IMDS back", "{\"imds_down\":false}", false),
        new Step(20.0, "host clock 10 min fast, IMDS throttling in bursts", "{\"aws_clock_skew_ms\":-600000,\"imds_throttle\":true}", false),
        new Step(20.25, "burst over", "{\"imds_throttle\":false}", false),
        new Step(21.0, "burst", "{\"imds_throttle\":true}", false),
        new Step(21.25, "burst over", "{\"imds_throttle\":false}", false),
        new Step(22.0, "host clock right again", "{\"aws_clock_skew_ms\":0}", false),
        new Step(LONG_OUTAGE_START, "IMDS down for 7 h: longer than the credentials live", "{\"imds_down\":true}", false),
        new Step(LONG_OUTAGE_END, "IMDS back after the long outage", "{\"imds_down\":false}", false),
    };

    private Soak() {
    }

    public static void main(String[] args) throws Exception {
        int code;
        try {
            code = run();
        } catch (Throwable t) {
            System.out.println("soak failed: " + t);
            t.printStackTrace(System.out);
            code = 2;
        }
        System.out.flush();
        System.exit(code);
    }

    private static long realNanos(double simHours) {
        return (long) (simHours * 3600e9 / SCALE);
    }

    private static int run() throws Exception {
        try (SimulatorProcess sim = SimulatorProcess.start(SCALE, LIFETIME_HOURS * 3600, 75 * 60)) {
            final FreshcredsAgent agent = FreshcredsAgent.builder()
                    .imdsEndpoint(sim.baseUrl())
                    .compressedClockForTesting(sim.originEpochMillis(), sim.timeScale())
                    .build();
            final FreshcredsV1CredentialsProvider v1Provider = FreshcredsV1CredentialsProvider.create(agent);
            final FreshcredsV2CredentialsProvider v2Provider = FreshcredsV2CredentialsProvider.create(agent);
            final AWSSecurityTokenService v1 = AWSSecurityTokenServiceClientBuilder.standard()
                    .withEndpointConfiguration(new EndpointConfiguration(sim.baseUrl(), "us-east-1"))
                    .withCredentials(v1Provider)
                    .withRequestHandlers(v1Provider.requestHandler())
                    .build();
            final StsClient v2 = StsClient.builder()
                    .endpointOverride(URI.create(sim.baseUrl()))
                    .region(Region.US_EAST_1)
                    .httpClient(UrlConnectionHttpClient.create())
                    .credentialsProvider(v2Provider)
                    .overrideConfiguration(c -> c.addExecutionInterceptor(v2Provider.executionInterceptor()))
                    .build();

            final AtomicBoolean stop = new AtomicBoolean();
            final AtomicLong calls = new AtomicLong();
            final AtomicLong slowestProviderNanos = new AtomicLong();
            final AtomicLong slowestCallNanos = new AtomicLong();
            final Map<String, AtomicLong> failures = new ConcurrentHashMap<String, AtomicLong>();
            // After each IMDS outage ("IMDS back" steps), until the next step: when it ended
            // (System.nanoTime, just before IMDS was brought back), the latest failed call started
            // after that (simulated ms), and those beyond the bound.
            final AtomicLong outageEndNanos = new AtomicLong(Long.MAX_VALUE);
            final AtomicLong latestFailureAfterOutageSimMillis = new AtomicLong(-1);
            final AtomicLong failuresAfterOutage = new AtomicLong();
            final AtomicLong lateFailures = new AtomicLong();
            long outageImdsBefore = 0;
            long outageImdsAfter = 0;
            List<Thread> workers = new ArrayList<Thread>();
            for (int i = 0; i < 2 * THREADS_PER_SDK; i++) {
                final boolean useV1 = i % 2 == 0;
                Thread t = new Thread(() -> {
                    while (!stop.get()) {
                        long start = System.nanoTime();
                        long heldExpiration = heldExpiration(agent);
                        String failure = null;
                        try {
                            if (useV1) {
                                v1Provider.getCredentials();
                            } else {
                                v2Provider.resolveCredentials();
                            }
                            max(slowestProviderNanos, System.nanoTime() - start);
                            if (useV1) {
                                v1.getCallerIdentity(new GetCallerIdentityRequest());
                            } else {
                                v2.getCallerIdentity();
                            }
                        } catch (AmazonServiceException e) {
                            failure = "v1 " + e.getErrorCode();
                        } catch (AwsServiceException e) {
                            failure = "v2 " + (e.awsErrorDetails() == null ? e.getClass().getSimpleName() : e.awsErrorDetails().errorCode());
                        } catch (RuntimeException e) {
                            failure = (useV1 ? "v1 " : "v2 ") + e.getClass().getSimpleName();
                        }
                        max(slowestCallNanos, System.nanoTime() - start);
                        calls.incrementAndGet();
                        if (failure != null && failure.endsWith("ExpiredToken") && expired(heldExpiration, sim)) {
                            // Static stability: IMDS was unreachable past the credentials' expiry,
                            // so the expired ones in hand when the call started were the best there was.
                            failure += " (credentials expired during an IMDS outage)";
                        }
                        if (failure != null) {
                            failures.computeIfAbsent(failure, k -> new AtomicLong()).incrementAndGet();
                            long end = outageEndNanos.get();
                            if (start >= end) {
                                long afterSimMillis = (long) ((start - end) * SCALE / 1e6);
                                failuresAfterOutage.incrementAndGet();
                                max(latestFailureAfterOutageSimMillis, afterSimMillis);
                                if (afterSimMillis > TimeUnit.SECONDS.toMillis(RECOVERY_BOUND_SIM_SECONDS)) {
                                    lateFailures.incrementAndGet();
                                }
                            }
                        }
                        try {
                            Thread.sleep(5);
                        } catch (InterruptedException e) {
                            return;
                        }
                    }
                }, "soak-" + (useV1 ? "v1-" : "v2-") + i);
                t.setDaemon(true);
                workers.add(t);
            }
            long startNanos = System.nanoTime();
            for (Thread t : workers) {
                t.start();
            }
            System.out.printf("soak: %d simulated hours at x%.0f (%.0f s real), %d threads per SDK, simulator %s%n",
                    HOURS, SCALE, HOURS * 3600 / SCALE, THREADS_PER_SDK, sim.baseUrl());

            int next = 0;
            for (int hour = 1; hour <= HOURS; hour++) {
                long hourEnd = startNanos + realNanos(hour);
                while (true) {
                    long stepAt = next < SCHEDULE.length ? startNanos + realNanos(SCHEDULE[next].hour) : Long.MAX_VALUE;
                    long until = Math.min(stepAt, hourEnd);
                    long wait = until - System.nanoTime();
                    if (wait > 0) {
                        TimeUnit.NANOSECONDS.sleep(wait);
                    }
                    if (stepAt > hourEnd) {
                        break;
                    }
                    Step step = SCHEDULE[next++];
                    if (step.hour == LONG_OUTAGE_START) {
                        outageImdsBefore = sim.stats().imdsRequestsTotal();
                    }
                    if (step.hour == LONG_OUTAGE_END) {
                        outageImdsAfter = sim.stats().imdsRequestsTotal();
                    }
                    // After each outage, until the next step: failures must stop within the bound.
                    outageEndNanos.set(step.label.startsWith("IMDS back") ? System.nanoTime() : Long.MAX_VALUE);
                    if (step.revoke) {
                        sim.revoke();
                    } else {
                        sim.patchFaults(step.faults);
                    }
                    System.out.printf("  %5.2f h  %s%n", step.hour, step.label);
                }
                JsonNode stats = JSON.readTree(agent.statsJson());
                SimulatorProcess.Stats simStats = sim.stats();
                System.out.printf("hour %2d: calls %8d, failures %s, refreshes %3d, IMDS requests %5d, skew %6.1f s, slowest provider call %6.1f ms, slowest STS call %7.1f ms%n",
                        hour, calls.get(), failureSummary(failures), stats.path("refreshes").asLong(), simStats.imdsRequestsTotal(),
                        stats.path("clockSkew").path("offsetMillis").asLong() / 1000.0,
                        slowestProviderNanos.get() / 1e6, slowestCallNanos.get() / 1e6);
            }
            stop.set(true);
            for (Thread t : workers) {
                t.join(5000);
            }
            JsonNode stats = JSON.readTree(agent.statsJson());
            SimulatorProcess.Stats simStats = sim.stats();
            long failed = 0;
            for (AtomicLong n : failures.values()) {
                failed += n.get();
            }
            System.out.println();
            System.out.println("summary (" + HOURS + " simulated hours):");
            System.out.printf("  calls:                  %d%n", calls.get());
            System.out.printf("  failures:               %d %s%n", failed, failureSummary(failures));
            System.out.printf("  refreshes:              %d (generation %d, %d failed refresh attempts)%n",
                    stats.path("refreshes").asLong(), stats.path("generation").asLong(), stats.path("failures").asLong());
            System.out.printf("  IMDS requests:          %d (%d throttled)%n", simStats.imdsRequestsTotal(), simStats.imdsThrottled());
            System.out.printf("  STS: ok %d, ExpiredToken %d (of which revoked sessions %d), SignatureDoesNotMatch %d%n",
                    simStats.stsOk(), simStats.stsExpiredToken(), simStats.stsRevokedRejections(), simStats.stsSignatureDoesNotMatch());
            System.out.printf("  slowest provider call:  %.1f ms%n", slowestProviderNanos.get() / 1e6);
            System.out.printf("  slowest STS call:       %.1f ms (includes SDK retries)%n", slowestCallNanos.get() / 1e6);
            // Calls in flight on a session the moment it is revoked cannot succeed, nor can calls
            // made while an IMDS outage outlasts the credentials; every other failure is one the
            // design promises to avoid.
            long outage = 0;
            for (Map.Entry<String, AtomicLong> e : failures.entrySet()) {
                if (e.getKey().contains("IMDS outage")) {
                    outage += e.getValue().get();
                }
            }
            long unexpected = Math.max(0, failed - simStats.stsRevokedRejections() - outage);
            System.out.printf("  unexpected failures:    %d (not in flight on a revoked session, not during an outage longer than the credentials)%n", unexpected);

            // The long outage. Refresh attempts: before the credentials' mandatory window, one per
            // 300-600 s backoff; from it on, the recovery schedule (at most 2 per 30 s). Each attempt
            // is at most 3 IMDS tries with a token try each.
            double outageMinutes = (LONG_OUTAGE_END - LONG_OUTAGE_START) * 60;
            long outageImds = outageImdsAfter - outageImdsBefore;
            long attemptBound = (long) Math.ceil(outageMinutes * 60 / 300) + 2 * (long) Math.ceil(outageMinutes * 60 / 30);
            long imdsBound = 2 * 3 * attemptBound;
            long latest = latestFailureAfterOutageSimMillis.get();
            System.out.printf("  long IMDS outage:       %.0f simulated min (credentials live %d h): %d IMDS requests (%.1f a simulated minute, bound %d)%n",
                    outageMinutes, LIFETIME_HOURS, outageImds, outageImds / outageMinutes, imdsBound);
            System.out.printf("  after IMDS outages:     %d failed calls, the last starting %s after IMDS was back; %d more than %d s after (must be 0)%n",
                    failuresAfterOutage.get(), latest < 0 ? "-" : String.format("%.1f simulated s", latest / 1000.0),
                    lateFailures.get(), RECOVERY_BOUND_SIM_SECONDS);
            v1.shutdown();
            v2.close();
            agent.close();
            if (lateFailures.get() > 0 || outageImds > imdsBound) {
                System.out.println("soak FAILED: calls failed too long after the outage, or too many IMDS requests during it");
                return 1;
            }
            return 0;
        }
    }

    /** The expiration of the credentials the agent hands out now (the hot path: no native call). */
    private static long heldExpiration(FreshcredsAgent agent) {
        try {
            return agent.currentSnapshot().expirationEpochMillis();
        } catch (RuntimeException e) {
            return Long.MAX_VALUE;
        }
    }

    /** Whether an expiration is past on the simulator's clock. */
    private static boolean expired(long expirationEpochMillis, SimulatorProcess sim) {
        try {
            return expirationEpochMillis <= sim.simNowEpochMillis();
        } catch (Exception e) {
            return false;
        }
    }

    private static String failureSummary(Map<String, AtomicLong> failures) {
        Map<String, Long> sorted = new TreeMap<String, Long>();
        for (Map.Entry<String, AtomicLong> e : failures.entrySet()) {
            sorted.put(e.getKey(), e.getValue().get());
        }
        return sorted.toString();
    }

    private static void max(AtomicLong slot, long value) {
        long cur;
        while (value > (cur = slot.get()) && !slot.compareAndSet(cur, value)) {
            // retry
        }
    }
}
