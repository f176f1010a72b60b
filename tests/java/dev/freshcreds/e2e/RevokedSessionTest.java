package dev.freshcreds.e2e;

import com.amazonaws.AmazonServiceException;
import com.amazonaws.DefaultRequest;
import com.amazonaws.Request;
import com.amazonaws.handlers.HandlerAfterAttemptContext;
import com.amazonaws.services.securitytoken.AWSSecurityTokenService;
import com.amazonaws.services.securitytoken.model.GetCallerIdentityRequest;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.freshcreds.FreshcredsAgent;
import dev.freshcreds.CredentialsSnapshot;
import dev.freshcreds.internal.SdkHookSupport;
import dev.freshcreds.sdkv1.FreshcredsRequestHandler;
import dev.freshcreds.sdkv1.FreshcredsV1CredentialsProvider;
import dev.freshcreds.sdkv2.FreshcredsExecutionInterceptor;
import dev.freshcreds.sdkv2.FreshcredsV2CredentialsProvider;
import org.junit.Test;
import software.amazon.awssdk.awscore.exception.AwsErrorDetails;
import software.amazon.awssdk.core.SdkRequest;
import software.amazon.awssdk.core.SdkResponse;
import software.amazon.awssdk.core.interceptor.Context;
import software.amazon.awssdk.core.interceptor.ExecutionAttributes;
import software.amazon.awssdk.http.SdkHttpMethod;
import software.amazon.awssdk.http.SdkHttpRequest;
import software.amazon.awssdk.http.SdkHttpResponse;
import software.amazon.awssdk.services.sts.StsClient;
import software.amazon.awssdk.services.sts.model.StsException;

import java.io.IOException;
import java.net.URI;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotEquals;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertTrue;

/**
 * The session is revoked at AWS ({@code POST /_sim/revoke}: STS answers 403 {@code ExpiredToken} for
 * the current session token from then on, IMDS serves new credentials at once). With the hook, each
 * real SDK client (no retries) sees at most one failed call, then signs with the new credentials;
 * without it, a client keeps failing. {@code AccessDenied} does not invalidate anything.
 */
public class RevokedSessionTest extends SimulatorTestBase {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int CALLS_AFTER_REVOKE = 20;

    private static FreshcredsAgent newAgent() {
        return FreshcredsAgent.builder()
                .imdsEndpoint(sim.baseUrl())
                .compressedClockForTesting(sim.originEpochMillis(), sim.timeScale())
                .build();
    }

    /** Makes the agent hold a freshly issued generation, so no scheduled refresh interferes for seconds. */
    private static CredentialsSnapshot freshGeneration(FreshcredsAgent agent) throws IOException {
        sim.rotate();
        return agent.refresh();
    }

    private interface Caller {
        String call();
    }

    /** Calls after a revocation: the error codes in order (null = success). */
    private static List<String> callsAfterRevoke(Caller caller) {
        List<String> outcomes = new ArrayList<String>();
        for (int i = 0; i < CALLS_AFTER_REVOKE; i++) {
            outcomes.add(caller.call());
        }
        return outcomes;
    }

    private static void assertAtMostOneExpiredTokenThenSuccess(String who, List<String> outcomes) {
        int failures = 0;
        boolean succeeded = false;
        for (String o : outcomes) {
            if (o == null) {
                succeeded = true;
                continue;
            }
            failures++;
            assertEquals(who + ": the only acceptable failure is ExpiredToken; outcomes " + outcomes, "ExpiredToken", o);
            assertFalse(who + ": a failure after a success; outcomes " + outcomes, succeeded);
        }
        assertTrue(who + ": at most one failed call; outcomes " + outcomes, failures <= 1);
        assertNull(who + ": the last call succeeds; outcomes " + outcomes, outcomes.get(outcomes.size() - 1));
    }

    @Test(timeout = 120_000)
    public void eachHookedClientSeesAtMostOneExpiredTokenAfterRevocation() throws Exception {
        FreshcredsAgent agent = newAgent();
        FreshcredsV1CredentialsProvider v1Provider = FreshcredsV1CredentialsProvider.create(agent);
        FreshcredsV2CredentialsProvider v2Provider = FreshcredsV2CredentialsProvider.create(agent);
        final AWSSecurityTokenService v1 = StsClients.v1(sim, v1Provider, v1Provider.requestHandler());
        final StsClient v2 = StsClients.v2(sim, v2Provider, v2Provider.executionInterceptor());
        try {
            // SDK v2 first: its failure alone must bring the new credentials.
            CredentialsSnapshot before = freshGeneration(agent);
            assertNull(StsClients.call(v2));
            assertNull(StsClients.call(v1));
            long revokedBefore = sim.stats().stsRevokedRejections();
            sim.revoke();
            List<String> v2Outcomes = callsAfterRevoke(new Caller() {
                public String call() {
                    return StsClients.call(v2);
                }
            });
            assertAtMostOneExpiredTokenThenSuccess("SDK v2", v2Outcomes);
            assertNotEquals("new credentials after the revocation", before.accessKeyId(), agent.currentSnapshot().accessKeyId());
            assertNull("SDK v1 uses the new credentials too", StsClients.call(v1));
            long v2Rejections = sim.stats().stsRevokedRejections() - revokedBefore;

            // Then SDK v1 first.
            before = freshGeneration(agent);
            assertNull(StsClients.call(v1));
            revokedBefore = sim.stats().stsRevokedRejections();
            sim.revoke();
            List<String> v1Outcomes = callsAfterRevoke(new Caller() {
                public String call() {
                    return StsClients.call(v1);
                }
            });
            assertAtMostOneExpiredTokenThenSuccess("SDK v1", v1Outcomes);
            assertNotEquals("new credentials after the revocation", before.accessKeyId(), agent.currentSnapshot().accessKeyId());
            assertNull("SDK v2 uses the new credentials too", StsClients.call(v2));
            long v1Rejections = sim.stats().stsRevokedRejections() - revokedBefore;

            System.out.println("RevokedSessionTest: v2 outcomes " + v2Outcomes + " (" + v2Rejections
                    + " revoked rejections); v1 outcomes " + v1Outcomes + " (" + v1Rejections
                    + "); stats " + sim.stats() + "; agent " + agent.statsJson());
            assertTrue("revoked rejections counted by the simulator (v2)", v2Rejections <= 1);
            assertTrue("revoked rejections counted by the simulator (v1)", v1Rejections <= 1);
        } finally {
            v1.shutdown();
            v2.close();
            agent.close();
        }
    }

    @Test(timeout = 120_000)
    public void withoutTheHookTheRevokedSessionKeepsFailing() throws Exception {
        FreshcredsAgent agent = newAgent();
        FreshcredsV1CredentialsProvider v1Provider = FreshcredsV1CredentialsProvider.create(agent);
        FreshcredsV2CredentialsProvider v2Provider = FreshcredsV2CredentialsProvider.create(agent);
        AWSSecurityTokenService v1 = StsClients.v1(sim, v1Provider, null);
        StsClient v2 = StsClients.v2(sim, v2Provider, null);
        try {
            freshGeneration(agent);
            assertNull(StsClients.call(v1));
            assertNull(StsClients.call(v2));
            sim.revoke();
            List<String> outcomes = new ArrayList<String>();
            for (int i = 0; i < 3; i++) {
                outcomes.add("v1 " + StsClients.call(v1));
                outcomes.add("v2 " + StsClients.call(v2));
            }
            for (String o : outcomes) {
                assertTrue("every call fails with ExpiredToken until the scheduled refresh: " + outcomes,
                        o.endsWith(" ExpiredToken"));
            }
        } finally {
            v1.shutdown();
            v2.close();
            agent.close();
        }
    }

    @Test
    public void onlyCredentialRejectionCodesInvalidate() {
        for (String code : new String[] {"ExpiredToken", "ExpiredTokenException", "InvalidToken", "RequestExpired"}) {
            assertTrue(code, SdkHookSupport.rejectsCredentials(code));
        }
        for (String code : new String[] {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation",
                "SignatureDoesNotMatch", "InvalidClientTokenId", "Throttling", "expiredtoken", "", null}) {
            assertFalse(String.valueOf(code), SdkHookSupport.rejectsCredentials(code));
        }
        assertEquals("ASIAEXAMPLE", SdkHookSupport.accessKeyIdFromAuthorization(
                "AWS4-HMAC-SHA256 Credential=ASIAEXAMPLE/20261130/us-east-1/sts/aws4_request, "
                        + "SignedHeaders=host;x-amz-date, Signature=abc"));
        assertNull(SdkHookSupport.accessKeyIdFromAuthorization("Bearer xyz"));
        assertNull(SdkHookSupport.accessKeyIdFromAuthorization(null));
        assertEquals(784111777000L, SdkHookSupport.parseHttpDate("Sun, 06 Nov 1994 08:49:37 GMT"));
        assertEquals(Long.MIN_VALUE, SdkHookSupport.parseHttpDate("yesterday"));
        // SDK v1's offset is host minus AWS, in seconds: a host 10 minutes slow signs with offset -600.
        assertEquals(-600, SdkHookSupport.v1TimeOffsetSeconds(600_000));
        assertEquals(600, SdkHookSupport.v1TimeOffsetSeconds(-600_000));
    }

    /** The hooks themselves, fed an AccessDenied and an ExpiredToken for the agent's current key. */
    @Test(timeout = 60_000)
    public void accessDeniedLeavesTheCredentialsAloneExpiredTokenReplacesThem() throws Exception {
        FreshcredsAgent agent = newAgent();
        try {
            freshGeneration(agent);
            FreshcredsRequestHandler v1 = FreshcredsRequestHandler.create(agent);
            FreshcredsExecutionInterceptor v2 = FreshcredsExecutionInterceptor.create(agent);

            CredentialsSnapshot snap = agent.currentSnapshot();
            long sourceCalls = sourceCalls(agent);
            v1.afterAttempt(v1Attempt(snap.accessKeyId(), "AccessDenied"));
            v2.onExecutionFailure(v2Failure(snap.accessKeyId(), "AccessDenied"), new ExecutionAttributes());
            assertTrue("AccessDenied keeps the snapshot", snap == agent.currentSnapshot());
            assertEquals("AccessDenied fetches nothing", sourceCalls, sourceCalls(agent));

            sim.rotate(); // so that the refetch brings a new key
            v1.afterAttempt(v1Attempt(snap.accessKeyId(), "ExpiredToken"));
            CredentialsSnapshot after = agent.currentSnapshot();
            assertTrue("ExpiredToken (SDK v1 hook) drops the snapshot", after != snap);
            assertNotEquals(snap.accessKeyId(), after.accessKeyId());
            assertEquals("ExpiredToken (SDK v1 hook) fetched once", sourceCalls + 1, sourceCalls(agent));

            sim.rotate();
            v2.onExecutionFailure(v2Failure(after.accessKeyId(), "ExpiredTokenException"), new ExecutionAttributes());
            CredentialsSnapshot third = agent.currentSnapshot();
            assertTrue("ExpiredTokenException (SDK v2 hook) drops the snapshot", third != after);
            assertEquals("ExpiredTokenException (SDK v2 hook) fetched once", sourceCalls + 2, sourceCalls(agent));
            assertNotEquals(after.accessKeyId(), third.accessKeyId());

            // A key the agent no longer holds (a request signed before a rotation) costs nothing.
            v1.afterAttempt(v1Attempt(snap.accessKeyId(), "ExpiredToken"));
            assertTrue(third == agent.currentSnapshot());
            assertEquals(sourceCalls + 2, sourceCalls(agent));
        } finally {
            agent.close();
        }
    }

    private static long sourceCalls(FreshcredsAgent agent) throws IOException {
        return JSON.readTree(agent.statsJson()).path("sourceCalls").asLong();
    }

    private static String authorization(String accessKeyId) {
        return "AWS4-HMAC-SHA256 Credential=" + accessKeyId + "/20261130/us-east-1/sts/aws4_request, "
                + "SignedHeaders=host;x-amz-date, Signature=0000";
    }

    private static HandlerAfterAttemptContext v1Attempt(String accessKeyId, String errorCode) {
        Request<GetCallerIdentityRequest> request = new DefaultRequest<GetCallerIdentityRequest>(new GetCallerIdentityRequest(), "sts");
        request.addHeader("Authorization", authorization(accessKeyId));
        AmazonServiceException e = new AmazonServiceException("rejected");
        e.setErrorCode(errorCode);
        e.setStatusCode(403);
        return HandlerAfterAttemptContext.builder().withRequest(request).withException(e).build();
    }

    private static Context.FailedExecution v2Failure(String accessKeyId, String errorCode) {
        final StsException e = (StsException) StsException.builder()
                .statusCode(403)
                .awsErrorDetails(AwsErrorDetails.builder().errorCode(errorCode).errorMessage("rejected").build())
                .build();
        final SdkHttpRequest http = SdkHttpRequest.builder()
                .method(SdkHttpMethod.POST)
                .uri(URI.create(sim.baseUrl()))
                .putHeader("Authorization", authorization(accessKeyId))
                .build();
        return new Context.FailedExecution() {
            @Override
            public SdkRequest request() {
                return software.amazon.awssdk.services.sts.model.GetCallerIdentityRequest.builder().build();
            }

            @Override
            public Optional<SdkHttpRequest> httpRequest() {
                return Optional.of(http);
            }

            @Override
            public Optional<SdkHttpResponse> httpResponse() {
                return Optional.empty();
            }

            @Override
            public Optional<SdkResponse> response() {
                return Optional.empty();
            }

            @Override
            public Throwable exception() {
                return e;
            }
        };
    }
}
