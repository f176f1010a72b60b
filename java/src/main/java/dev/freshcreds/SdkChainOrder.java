package dev.freshcreds;

/**
 * The default credential chain order of each AWS SDK for Java, by freshcreds' source names, for
 * {@link AgentOptions#chainOrder(SdkChainOrder)}. The two SDKs differ only in their first two links.
 */
public enum SdkChainOrder {
    /**
     * SDK v1's {@code DefaultAWSCredentialsProviderChain}: environment variables, Java system
     * properties, web identity, profile, container, instance role. freshcreds' own default, and
     * that of {@code FreshcredsV1CredentialsProvider.builder()}.
     */
    SDK_V1("environment", "systemProperties", "webIdentity", "profile", "container", "imds"),
    /**
     * SDK v2's {@code DefaultCredentialsProvider}: Java system properties, environment variables,
     * web identity, profile, container, instance role. The default of
     * {@code FreshcredsV2CredentialsProvider.builder()}.
     */
    SDK_V2("systemProperties", "environment", "webIdentity", "profile", "container", "imds");

    private final String[] sources;

    SdkChainOrder(String... sources) {
        this.sources = sources;
    }

    /**
     * The order as {@link AgentOptions#source(String...)} takes it.
     *
     * @return a new array of the source names, first tried first
     */
    public String[] sources() {
        return sources.clone();
    }
}
