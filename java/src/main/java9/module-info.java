/**
 * freshcreds: AWS credentials for the AWS SDKs for Java, kept fresh by a native agent.
 *
 * <p>Compiled for Java 9 and packed as {@code META-INF/versions/9/module-info.class} of a multi-release
 * jar: Java 8 ignores it, and on the module path of Java 9+ it makes the jar an explicit module that
 * exports the API packages only ({@code dev.freshcreds.internal} stays hidden). Both SDKs,
 * Micrometer and SLF4J are {@code requires static}: an application brings the ones it uses, and needs no other.
 */
module dev.freshcreds {
    requires java.logging;
    requires java.management;   // FreshcredsJmx

    // SDK v1 publishes no Automatic-Module-Name; this is the name Java derives from its jar's file name.
    requires static aws.java.sdk.core;
    requires static software.amazon.awssdk.auth;
    requires static software.amazon.awssdk.awscore;
    requires static software.amazon.awssdk.core;
    requires static software.amazon.awssdk.identity.spi;
    requires static software.amazon.awssdk.utils;
    // Micrometer is optional too: only dev.freshcreds.micrometer refers to it.
    requires static micrometer.core;
    // SLF4J is optional: native log events go through it when present, else java.util.logging.
    requires static org.slf4j;

    exports dev.freshcreds;
    exports dev.freshcreds.sdkv1;
    exports dev.freshcreds.sdkv2;
    exports dev.freshcreds.micrometer;
}
