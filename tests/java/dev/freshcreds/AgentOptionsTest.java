package dev.freshcreds;

import dev.freshcreds.sdkv1.FreshcredsRequestHandler;
import dev.freshcreds.sdkv1.FreshcredsV1CredentialsProvider;
import dev.freshcreds.sdkv2.FreshcredsExecutionInterceptor;
import dev.freshcreds.sdkv2.FreshcredsV2CredentialsProvider;
import org.junit.Test;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Locale;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

/**
 * The agent's options as {@link AgentOptions} takes them: setters refuse null only and pass values
 * through; native code refuses what is out of range when the agent is built, with a message that
 * names the option and says what it accepts. No simulator: nothing here fetches credentials (IMDS is
 * pinned to a closed loopback port).
 */
public class AgentOptionsTest {
    private static final String CLOSED_PORT = "http://127.0.0.1:9";

    private interface Build {
        void run();
    }

    /** An IMDS-pinned builder, so that the IMDS options are checked too. */
    private static FreshcredsAgent.Builder imds() {
        return FreshcredsAgent.builder().source("imds").imdsEndpoint(CLOSED_PORT);
    }

    /** Runs {@code build}; it must throw InvalidConfigurationException whose message has every one of {@code parts}. */
    private static void refused(String what, Build build, String... parts) {
        try {
            build.run();
            fail(what + " was accepted");
        } catch (InvalidConfigurationException e) {
            String m = e.getMessage();
            System.out.println(what + ": " + m);
            for (String part : parts) {
                assertTrue(what + ": message lacks '" + part + "': " + m, m.toLowerCase(Locale.ROOT).contains(part.toLowerCase(Locale.ROOT)));
            }
        }
    }

    private static void refusedByBuild(String what, final FreshcredsAgent.Builder builder, String... parts) {
        refused(what, new Build() {
            @Override
            public void run() {
                builder.build().close();
            }
        }, parts);
    }

    @Test
    public void settersRefuseNullAtOnceNamingTheOption() {
        refused("imdsEndpoint(null)", () -> FreshcredsAgent.builder().imdsEndpoint(null), "imdsEndpoint", "null");
        refused("roleName(null)", () -> FreshcredsAgent.builder().roleName(null), "roleName", "null");
        refused("advisoryWindow(null)", () -> FreshcredsAgent.builder().advisoryWindow(null), "advisoryWindow", "null");
        refused("attemptTimeout(null)", () -> FreshcredsAgent.builder().attemptTimeout(null), "attemptTimeout", "null");
        refused("loadTimeout(null)", () -> FreshcredsAgent.builder().loadTimeout(null), "loadTimeout", "null");
        refused("tokenTtl(null)", () -> FreshcredsAgent.builder().tokenTtl(null), "tokenTtl", "null");
        refused("imdsEndpointMode(null)", () -> FreshcredsAgent.builder().imdsEndpointMode(null), "imdsEndpointMode", "null");
        refused("profileName(null)", () -> FreshcredsAgent.builder().profileName(null), "profileName", "null");
        refused("profileFile(null)", () -> FreshcredsAgent.builder().profileFile(null), "profileFile", "null");
        refused("credentialsFile(null)", () -> FreshcredsAgent.builder().credentialsFile(null), "credentialsFile", "null");
        refused("source((String[]) null)", () -> FreshcredsAgent.builder().source((String[]) null), "source", "null");
        refused("source(\"imds\", null)", () -> FreshcredsAgent.builder().source("imds", null), "source", "null");
        // the providers' builders are the same options
        refused("v1 loadTimeout(null)", () -> FreshcredsV1CredentialsProvider.builder().loadTimeout(null), "loadTimeout");
        refused("v2 source(null)", () -> FreshcredsV2CredentialsProvider.builder().source("imds", null), "source");
    }

    @Test
    public void nativeCodeRefusesOutOfRangeImdsOptionsInBuild() {
        refusedByBuild("maxAttempts(0)", imds().maxAttempts(0), "maxAttempts", "out of range", "between 1 and 20");
        refusedByBuild("maxAttempts(21)", imds().maxAttempts(21), "maxAttempts", "out of range", "between 1 and 20");
        refusedByBuild("maxAttempts(-1)", imds().maxAttempts(-1), "maxAttempts", "-1", "whole number");
        refusedByBuild("attemptTimeout(0)", imds().attemptTimeout(Duration.ZERO), "attemptTimeoutMillis", "out of range", "1 ms to 1 hour");
        refusedByBuild("attemptTimeout(2 h)", imds().attemptTimeout(Duration.ofHours(2)), "attemptTimeoutMillis", "out of range");
        refusedByBuild("attemptTimeout(-1 ms)", imds().attemptTimeout(Duration.ofMillis(-1)), "attemptTimeoutMillis", "-1", "whole number");
        refusedByBuild("tokenTtl(0)", imds().tokenTtl(Duration.ZERO), "token TTL", "out of range", "1 to 21600 seconds");
        refusedByBuild("tokenTtl(500 ms)", imds().tokenTtl(Duration.ofMillis(500)), "token TTL", "1 to 21600 seconds");
        refusedByBuild("tokenTtl(7 h)", imds().tokenTtl(Duration.ofHours(7)), "token TTL", "1 to 21600 seconds");
        refusedByBuild("tokenTtl(-1 s)", imds().tokenTtl(Duration.ofSeconds(-1)), "tokenTtlSeconds", "whole number");
        refusedByBuild("imdsEndpoint(\"\")", imds().imdsEndpoint(""), "IMDS endpoint", "not a URL");
        refusedByBuild("imdsEndpoint(https)", imds().imdsEndpoint("https://127.0.0.1:9"), "https");
        refusedByBuild("roleName(\"\")", imds().roleName(""), "IAM role name");
        refusedByBuild("roleName(\"a/b\")", imds().roleName("a/b"), "'a/b'", "IAM role name");
        refusedByBuild("imdsEndpointMode(\"IPv5\")", imds().imdsEndpointMode("IPv5"), "endpointMode='IPv5'", "IPv4 or IPv6");
    }

    @Test
    public void nativeCodeRefusesBadGeneralOptionsInBuild() {
        refusedByBuild("loadTimeout(0)", imds().loadTimeout(Duration.ZERO), "loadTimeoutMillis is 0");
        refusedByBuild("loadTimeout(-1 s)", imds().loadTimeout(Duration.ofSeconds(-1)), "loadTimeoutMillis", "whole number");
        refusedByBuild("advisoryWindow(-1 ms)", imds().advisoryWindow(Duration.ofMillis(-1)), "advisoryWindowMillis", "whole number");
        refusedByBuild("source()", FreshcredsAgent.builder().imdsEndpoint(CLOSED_PORT).source(), "source option is empty");
        refusedByBuild("source(\" \")", FreshcredsAgent.builder().imdsEndpoint(CLOSED_PORT).source(" "), "source option is empty");
        refusedByBuild("source(\"nope\")", FreshcredsAgent.builder().source("imds", "nope"), "unknown credential source 'nope'");
        refusedByBuild("clock scale 0.5", imds().compressedClockForTesting(0, 0.5), "clock.scale", "from 1 to");
        refusedByBuild("clock scale NaN", imds().compressedClockForTesting(0, Double.NaN), "clock.scale", "from 1 to");
        refusedByBuild("clock scale infinite", imds().compressedClockForTesting(0, Double.POSITIVE_INFINITY), "clock.scale", "from 1 to");
        refusedByBuild("clock scale 1e7", imds().compressedClockForTesting(0, 1e7), "clock.scale", "from 1 to");
        refusedByBuild("clock origin -1", imds().compressedClockForTesting(-1, 600), "clock.originEpochMillis", "whole number");
    }

    @Test
    public void aDurationTooLargeForMillisecondsIsPassedOnSaturatedNotAnArithmeticException() {
        Duration huge = Duration.ofSeconds(Long.MAX_VALUE);
        refusedByBuild("attemptTimeout(huge)", imds().attemptTimeout(huge), "attemptTimeoutMillis", "out of range");
        refusedByBuild("loadTimeout(-huge)", imds().loadTimeout(huge.negated()), "loadTimeoutMillis", "whole number");
    }

    @Test
    public void theProvidersBuildersTakeEveryAgentOption() {
        FreshcredsV1CredentialsProvider v1 = FreshcredsV1CredentialsProvider.builder()
                .source("imds")
                .imdsEndpoint(CLOSED_PORT)
                .loadTimeout(Duration.ofSeconds(3))
                .attemptTimeout(Duration.ofMillis(200))
                .maxAttempts(1)
                .build();
        try {
            assertEquals("imds", v1.agent().source());
        } finally {
            v1.close();
        }
        FreshcredsV2CredentialsProvider v2 = FreshcredsV2CredentialsProvider.builder()
                .source("imds")
                .imdsEndpoint(CLOSED_PORT)
                .loadTimeout(Duration.ofSeconds(3))
                .build();
        try {
            assertEquals("imds", v2.agent().source());
        } finally {
            v2.close();
        }
        refused("v1 maxAttempts(0)", () -> FreshcredsV1CredentialsProvider.builder().source("imds").imdsEndpoint(CLOSED_PORT)
                .maxAttempts(0).build().close(), "maxAttempts", "between 1 and 20");
        refused("v2 loadTimeout(0)", () -> FreshcredsV2CredentialsProvider.builder().source("imds").imdsEndpoint(CLOSED_PORT)
                .loadTimeout(Duration.ZERO).build().close(), "loadTimeoutMillis is 0");
    }

    /**
     * profileName, profileFile and credentialsFile choose the profile and its files over the test
     * task's system properties and variables (which name empty files): static keys, no network.
     */
    @Test
    public void theProfileOptionsSelectTheProfileAndTheFiles() throws Exception {
        Path dir = Files.createTempDirectory("freshcreds-profile-options");
        try {
            Path credentials = dir.resolve("credentials");
            Path config = dir.resolve("config");
            Files.write(credentials, ("[default]\naws_access_key_id = AKIADEFAULT000000001\naws_secret_access_key = s0\n"
                    + "[dev]\naws_access_key_id = AKIADEV0000000000001\naws_secret_access_key = s1\n").getBytes(StandardCharsets.UTF_8));
            Files.write(config, "[profile ops]\naws_access_key_id = AKIAOPS0000000000001\naws_secret_access_key = s2\n"
                    .getBytes(StandardCharsets.UTF_8));
            assertEquals("AKIADEFAULT000000001", profileKey(FreshcredsAgent.builder().credentialsFile(credentials)));
            assertEquals("AKIADEV0000000000001", profileKey(FreshcredsAgent.builder().credentialsFile(credentials).profileName("dev")));
            assertEquals("AKIAOPS0000000000001", profileKey(FreshcredsAgent.builder().profileFile(config).profileName("ops")));
            refusedByBuild("a profile without keys", FreshcredsAgent.builder().source("profile").profileFile(config).profileName("none"),
                    "profile", "'none'", "no credentials");
        } finally {
            for (String name : new String[] {"credentials", "config"}) {
                Files.deleteIfExists(dir.resolve(name));
            }
            Files.deleteIfExists(dir);
        }
    }

    private static String profileKey(FreshcredsAgent.Builder builder) {
        try (FreshcredsAgent agent = builder.source("profile").build()) {
            return agent.currentSnapshot().accessKeyId();
        }
    }

    @Test
    public void theSdkHooksRefuseANullOrNegativeSkewThresholdInBuild() {
        final FreshcredsAgent agent = imds().build();
        try {
            refused("v1 skewThreshold(-1 s)", () -> FreshcredsRequestHandler.builder(agent).skewThreshold(Duration.ofSeconds(-1)).build(),
                    "skew threshold", "zero or positive");
            refused("v1 skewThreshold(null)", () -> FreshcredsRequestHandler.builder(agent).skewThreshold(null).build(),
                    "skew threshold");
            refused("v2 skewThreshold(-1 s)", () -> FreshcredsExecutionInterceptor.builder(agent).skewThreshold(Duration.ofSeconds(-1)).build(),
                    "skew threshold", "zero or positive");
            refused("v2 skewThreshold(null)", () -> FreshcredsExecutionInterceptor.builder(agent).skewThreshold(null).build(),
                    "skew threshold");
            // zero is fine: every offset is corrected
            assertEquals(agent, FreshcredsRequestHandler.builder(agent).skewThreshold(Duration.ZERO).build().agent());
            assertEquals(agent, FreshcredsExecutionInterceptor.builder(agent).skewThreshold(Duration.ZERO).build().agent());
        } finally {
            agent.close();
        }
    }
}
