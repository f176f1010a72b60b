/**
 * Micrometer meters for a freshcreds agent: {@link dev.freshcreds.micrometer.FreshcredsMeterBinder}.
 *
 * <p>Optional: freshcreds declares no dependency on Micrometer, and nothing outside this package
 * refers to it, so an application without Micrometer never loads these classes. An application with
 * Micrometer ({@code io.micrometer:micrometer-core} 1.x) uses them as they are.
 */
package dev.freshcreds.micrometer;
