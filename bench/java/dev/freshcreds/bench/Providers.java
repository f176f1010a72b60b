package dev.freshcreds.bench;

import dev.freshcreds.FreshcredsAgent;
import dev.freshcreds.e2e.SimulatorProcess;
import dev.freshcreds.sdkv1.FreshcredsV1CredentialsProvider;
import dev.freshcreds.sdkv2.FreshcredsV2CredentialsProvider;

import java.lang.reflect.Method;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;

/**
 * Builds every provider the suite compares, all pointed at the same simulator on 127.0.0.1.
 *
 * <p>Names: {@code freshcreds-v1}, {@code freshcreds-v2} (the freshcreds providers for each SDK),
 * {@code sdkv1-sync}, {@code sdkv1-async} ({@code com.amazonaws.auth.InstanceProfileCredentialsProvider}),
 * {@code sdkv2-sync}, {@code sdkv2-async} ({@code software.amazon.awssdk.auth.credentials.InstanceProfileCredentialsProvider}).
 */
public final class Providers {
    public static final String[] ALL = {"freshcreds-v1", "freshcreds-v2", "sdkv1-sync", "sdkv1-async", "sdkv2-sync", "sdkv2-async"};

    private Providers() {
    }

    /** One provider under test: {@link #call()} is the per-request credentials lookup. */
    public interface Handle extends AutoCloseable {
        Object call();

        /** The access key id of what {@link #call()} returns now. */
        String accessKeyId();

        @Override
        void close();
    }

    /**
     * @param compressed when true, providers that can follow a compressed clock do (freshcreds, and SDK v2
     *                   through its package-private {@code clock(Clock)} builder hook); SDK v1 reads the real
     *                   clock only, so it is refused for compressed runs.
     */
    public static Handle create(String name, SimulatorProcess sim, boolean compressed) {
        return create(name, sim.baseUrl(), sim.originEpochMillis(), sim.timeScale(), compressed);
    }

    public static Handle create(String name, String baseUrl, long originEpochMillis, double timeScale, boolean compressed) {
        if (name.startsWith("freshcreds-")) {
            FreshcredsAgent.Builder b = FreshcredsAgent.builder().source("imds").imdsEndpoint(baseUrl);
            if (compressed) {
                b.compressedClockForTesting(originEpochMillis, timeScale);
            }
            final FreshcredsAgent agent = b.build();
            if (name.equals("freshcreds-v1")) {
                final FreshcredsV1CredentialsProvider p = FreshcredsV1CredentialsProvider.create(agent);
                return new Handle() {
                    public Object call() {
                        return p.getCredentials();
                    }

                    public String accessKeyId() {
                        return p.getCredentials().getAWSAccessKeyId();
                    }

                    public void close() {
                        agent.close();
                    }
                };
            }
            final FreshcredsV2CredentialsProvider p = FreshcredsV2CredentialsProvider.create(agent);
            return new Handle() {
                public Object call() {
                    return p.resolveCredentials();
                }

                public String accessKeyId() {
                    return p.resolveCredentials().accessKeyId();
                }

                public void close() {
                    agent.close();
                }
            };
        }
        if (name.startsWith("sdkv1-")) {
            if (compressed) {
                throw new IllegalArgumentException("SDK v1 has no clock hook; run it on a real-time simulator");
            }
            // the Gradle task switches the SDKs' own IMDS lookups off and points them at a closed port;
            // here they are switched back on, pointed at the simulator only
            System.setProperty("com.amazonaws.sdk.disableEc2Metadata", "false");
            System.setProperty("com.amazonaws.sdk.ec2MetadataServiceEndpointOverride", baseUrl);
            final com.amazonaws.auth.InstanceProfileCredentialsProvider p =
                    new com.amazonaws.auth.InstanceProfileCredentialsProvider(name.equals("sdkv1-async"));
            return new Handle() {
                public Object call() {
                    return p.getCredentials();
                }

                public String accessKeyId() {
                    return p.getCredentials().getAWSAccessKeyId();
                }

                public void close() {
                    try {
                        p.close();
                    } catch (Exception e) {
                        throw new RuntimeException(e);
                    }
                }
            };
        }
        if (name.startsWith("sdkv2-")) {
            System.setProperty("aws.disableEc2Metadata", "false");
            software.amazon.awssdk.auth.credentials.InstanceProfileCredentialsProvider.Builder b =
                    software.amazon.awssdk.auth.credentials.InstanceProfileCredentialsProvider.builder()
                            .endpoint(baseUrl)
                            .asyncCredentialUpdateEnabled(name.equals("sdkv2-async"));
            if (compressed) {
                setClock(b, new SimClock(originEpochMillis, timeScale));
            }
            final software.amazon.awssdk.auth.credentials.InstanceProfileCredentialsProvider p = b.build();
            return new Handle() {
                public Object call() {
                    return p.resolveCredentials();
                }

                public String accessKeyId() {
                    return p.resolveCredentials().accessKeyId();
                }

                public void close() {
                    p.close();
                }
            };
        }
        throw new IllegalArgumentException("unknown provider " + name);
    }

    private static void setClock(Object builder, Clock clock) {
        try {
            Method m = builder.getClass().getDeclaredMethod("clock", Clock.class);
            m.setAccessible(true);
            m.invoke(builder, clock);
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("SDK v2 InstanceProfileCredentialsProvider.BuilderImpl.clock(Clock) not found", e);
        }
    }

    /** The simulator's compressed clock: sim = origin + (real - origin) * scale. */
    public static final class SimClock extends Clock {
        private final long origin;
        private final double scale;

        public SimClock(long originEpochMillis, double scale) {
            this.origin = originEpochMillis;
            this.scale = scale;
        }

        public long millis() {
            return origin + (long) ((System.currentTimeMillis() - origin) * scale);
        }

        public Instant instant() {
            return Instant.ofEpochMilli(millis());
        }

        public ZoneId getZone() {
            return ZoneOffset.UTC;
        }

        public Clock withZone(ZoneId zone) {
            return this;
        }
    }
}
