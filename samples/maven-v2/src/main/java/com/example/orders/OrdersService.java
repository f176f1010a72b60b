package com.example.orders;

import dev.freshcreds.FreshcredsAgent;
import dev.freshcreds.NativeLibraryLoader;
import dev.freshcreds.SdkChainOrder;
import dev.freshcreds.sdkv2.FreshcredsV2CredentialsProvider;
import software.amazon.awssdk.services.sqs.SqsClient;
import software.amazon.awssdk.services.sqs.model.ListQueuesResponse;
import software.amazon.awssdk.services.sts.StsClient;
import software.amazon.awssdk.services.sts.model.GetCallerIdentityResponse;

/**
 * A service on SDK v2 whose STS and SQS clients take their credentials from freshcreds.
 *
 * <p>Region and endpoints come from the SDK's usual settings ({@code AWS_REGION},
 * {@code AWS_ENDPOINT_URL}); on EC2 nothing needs setting. Argument: how many rounds of calls
 * (default 3).
 */
public final class OrdersService {
    private OrdersService() {
    }

    public static void main(String[] args) {
        int rounds = args.length > 0 ? Integer.parseInt(args[0]) : 3;
        // One agent for the whole service: it keeps the instance role's credentials fresh in the
        // background, choosing its source in SDK v2's order. Clients that share it get
        // create(agent) providers; the agent is closed last.
        try (FreshcredsAgent agent = FreshcredsAgent.builder().chainOrder(SdkChainOrder.SDK_V2).build()) {
            FreshcredsV2CredentialsProvider credentials = FreshcredsV2CredentialsProvider.create(agent);
            try (StsClient sts = StsClient.builder()
                    .credentialsProvider(credentials)
                    .overrideConfiguration(c -> c.addExecutionInterceptor(credentials.executionInterceptor()))
                    .build();
                 SqsClient sqs = SqsClient.builder()
                    .credentialsProvider(credentials)
                    .overrideConfiguration(c -> c.addExecutionInterceptor(credentials.executionInterceptor()))
                    .build()) {
                for (int round = 1; round <= rounds; round++) {
                    GetCallerIdentityResponse identity = sts.getCallerIdentity();
                    ListQueuesResponse queues = sqs.listQueues();
                    System.out.println("round " + round + ": STS GetCallerIdentity -> " + identity.arn()
                            + "; SQS ListQueues -> " + queues.queueUrls());
                }
            }
            System.out.println("credentials from: " + agent.source());
            System.out.println("native library: " + NativeLibraryLoader.loadedFrom());
        }
    }
}
