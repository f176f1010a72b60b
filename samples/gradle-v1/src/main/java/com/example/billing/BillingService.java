package com.example.billing;

import com.amazonaws.client.builder.AwsClientBuilder.EndpointConfiguration;
import com.amazonaws.services.securitytoken.AWSSecurityTokenService;
import com.amazonaws.services.securitytoken.AWSSecurityTokenServiceClientBuilder;
import com.amazonaws.services.securitytoken.model.GetCallerIdentityRequest;
import com.amazonaws.services.securitytoken.model.GetCallerIdentityResult;
import dev.freshcreds.NativeLibraryLoader;
import dev.freshcreds.sdkv1.FreshcredsV1CredentialsProvider;

/**
 * A service on SDK v1 whose STS client takes its credentials from freshcreds.
 *
 * <p>Region from the SDK's usual settings ({@code AWS_REGION}); on EC2 nothing needs setting.
 * {@code AWS_ENDPOINT_URL}, which SDK v1 does not read itself, points the client elsewhere (the
 * tests' simulator). Argument: how many calls (default 3).
 */
public final class BillingService {
    private BillingService() {
    }

    public static void main(String[] args) {
        int calls = args.length > 0 ? Integer.parseInt(args[0]) : 3;
        FreshcredsV1CredentialsProvider credentials = FreshcredsV1CredentialsProvider.builder().build();
        try {
            AWSSecurityTokenServiceClientBuilder builder = AWSSecurityTokenServiceClientBuilder.standard()
                    .withCredentials(credentials)
                    .withRequestHandlers(credentials.requestHandler());
            String endpoint = System.getenv("AWS_ENDPOINT_URL");
            if (endpoint != null) {
                builder.withEndpointConfiguration(new EndpointConfiguration(endpoint, System.getenv("AWS_REGION")));
            }
            AWSSecurityTokenService sts = builder.build();
            for (int call = 1; call <= calls; call++) {
                GetCallerIdentityResult identity = sts.getCallerIdentity(new GetCallerIdentityRequest());
                System.out.println("call " + call + ": STS GetCallerIdentity -> " + identity.getArn());
            }
            sts.shutdown();
            System.out.println("native library: " + NativeLibraryLoader.loadedFrom());
        } finally {
            credentials.close();
        }
    }
}
