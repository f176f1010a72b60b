package dev.freshcreds.e2e;

import com.amazonaws.AmazonServiceException;
import com.amazonaws.ClientConfiguration;
import com.amazonaws.auth.AWSCredentialsProvider;
import com.amazonaws.client.builder.AwsClientBuilder.EndpointConfiguration;
import com.amazonaws.handlers.RequestHandler2;
import com.amazonaws.services.securitytoken.AWSSecurityTokenService;
import com.amazonaws.services.securitytoken.AWSSecurityTokenServiceClientBuilder;
import com.amazonaws.services.securitytoken.model.GetCallerIdentityRequest;
import software.amazon.awssdk.auth.credentials.AwsCredentialsProvider;
import software.amazon.awssdk.awscore.exception.AwsServiceException;
import software.amazon.awssdk.awscore.retry.AwsRetryStrategy;
import software.amazon.awssdk.core.interceptor.ExecutionInterceptor;
import software.amazon.awssdk.http.urlconnection.UrlConnectionHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.sts.StsClient;

import java.net.URI;

/**
 * The real STS clients of both SDKs pointed at a simulator, with retries off so that every failure
 * is visible, and one GetCallerIdentity call that reports its outcome instead of throwing.
 */
final class StsClients {
    private StsClients() {
    }

    /** SDK v1 client; {@code handler} may be null (no freshcreds hook). */
    static AWSSecurityTokenService v1(SimulatorProcess sim, AWSCredentialsProvider credentials, RequestHandler2 handler) {
        AWSSecurityTokenServiceClientBuilder b = AWSSecurityTokenServiceClientBuilder.standard()
                .withEndpointConfiguration(new EndpointConfiguration(sim.baseUrl(), "us-east-1"))
                .withClientConfiguration(new ClientConfiguration().withMaxErrorRetry(0))
                .withCredentials(credentials);
        if (handler != null) {
            b = b.withRequestHandlers(handler);
        }
        return b.build();
    }

    /** SDK v2 client; {@code interceptor} may be null (no freshcreds hook). */
    static StsClient v2(SimulatorProcess sim, AwsCredentialsProvider credentials, final ExecutionInterceptor interceptor) {
        return StsClient.builder()
                .endpointOverride(URI.create(sim.baseUrl()))
                .region(Region.US_EAST_1)
                .httpClient(UrlConnectionHttpClient.create())
                .overrideConfiguration(c -> {
                    c.retryStrategy(AwsRetryStrategy.doNotRetry());
                    if (interceptor != null) {
                        c.addExecutionInterceptor(interceptor);
                    }
                })
                .credentialsProvider(credentials)
                .build();
    }

    /** One GetCallerIdentity: null on success, else the AWS error code (or the exception). */
    static String call(AWSSecurityTokenService client) {
        try {
            client.getCallerIdentity(new GetCallerIdentityRequest()).getArn();
            return null;
        } catch (AmazonServiceException e) {
            return e.getErrorCode();
        } catch (RuntimeException e) {
            return e.toString();
        }
    }

    /** One GetCallerIdentity: null on success, else the AWS error code (or the exception). */
    static String call(StsClient client) {
        try {
            client.getCallerIdentity().arn();
            return null;
        } catch (AwsServiceException e) {
            return e.awsErrorDetails() == null ? e.toString() : e.awsErrorDetails().errorCode();
        } catch (RuntimeException e) {
            return e.toString();
        }
    }
}
