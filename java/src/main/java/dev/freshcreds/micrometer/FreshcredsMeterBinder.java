package dev.freshcreds.micrometer;

import dev.freshcreds.AgentStats;
import dev.freshcreds.FreshcredsAgent;
import dev.freshcreds.InvalidConfigurationException;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tag;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.binder.MeterBinder;

import java.util.Collections;
import java.util.function.ToDoubleFunction;

/**
 * Binds an agent's statistics ({@link AgentStats}) to a Micrometer {@link MeterRegistry}, every
 * meter tagged {@code name=<agent name>} (plus any tags given):
 *
 * <table>
 * <caption>Meters</caption>
 * <tr><th>meter</th><th>type</th><th>value</th></tr>
 * <tr><td>{@code freshcreds.credentials.expiry}</td><td>gauge, seconds</td>
 *     <td>seconds until the credentials expire on AWS's clock; 0 once expired; -1 when there are
 *     none, they do not expire, or the agent is closed ({@link AgentStats#secondsToExpiry()})</td></tr>
 * <tr><td>{@code freshcreds.credentials.generation}</td><td>gauge</td>
 *     <td>how many times new credentials were loaded</td></tr>
 * <tr><td>{@code freshcreds.clock.offset}</td><td>gauge, seconds</td>
 *     <td>AWS time minus this host's clock, as estimated</td></tr>
 * <tr><td>{@code freshcreds.state}</td><td>gauge</td>
 *     <td>0 OK, 1 STARTING, 2 SERVING_STALE, 3 FAILING, 4 CLOSED ({@link AgentStats.State#code()}):
 *     alert on 2 or more</td></tr>
 * <tr><td>{@code freshcreds.refreshes}</td><td>function counter</td>
 *     <td>fetches that brought new credentials</td></tr>
 * <tr><td>{@code freshcreds.failures}</td><td>function counter</td>
 *     <td>failed fetches from the credential source</td></tr>
 * <tr><td>{@code freshcreds.imds.requests}</td><td>function counter, tag {@code kind=token|metadata}</td>
 *     <td>IMDSv2 session token requests and metadata (role name, credentials) requests, retries
 *     included</td></tr>
 * <tr><td>{@code freshcreds.imds.retries}</td><td>function counter</td>
 *     <td>IMDS requests that retried a failed one (already counted in
 *     {@code freshcreds.imds.requests})</td></tr>
 * </table>
 *
 * <pre>{@code
 * new FreshcredsMeterBinder(agent, "orders").bindTo(registry);
 * }</pre>
 *
 * <p>Each meter reads the agent when the registry asks. The meters hold the agent until they are
 * removed from the registry; once the agent is closed they keep their last values and
 * {@code freshcreds.state} is 4. No meter or tag holds a secret.
 */
public final class FreshcredsMeterBinder implements MeterBinder {
    private final FreshcredsAgent agent;
    private final String name;
    private final Iterable<Tag> tags;

    /**
     * A binder for one agent.
     *
     * @param agent the agent, not null
     * @param name  the value of the {@code name} tag on every meter, not null or empty; e.g. the
     *              service's name, or the agent's JMX name
     * @throws InvalidConfigurationException if {@code agent} or {@code name} is null or {@code name}
     *                                       is empty
     */
    public FreshcredsMeterBinder(FreshcredsAgent agent, String name) {
        this(agent, name, Collections.<Tag>emptyList());
    }

    /**
     * A binder for one agent, with extra tags on every meter.
     *
     * @param agent the agent, not null
     * @param name  the value of the {@code name} tag on every meter, not null or empty
     * @param tags  more tags for every meter, not null; a {@code name} tag among them is replaced by
     *              {@code name}
     * @throws InvalidConfigurationException if an argument is null or {@code name} is empty
     */
    public FreshcredsMeterBinder(FreshcredsAgent agent, String name, Iterable<Tag> tags) {
        if (agent == null) {
            throw new InvalidConfigurationException("agent must not be null");
        }
        if (name == null || name.isEmpty()) {
            throw new InvalidConfigurationException("the metrics name of a freshcreds agent must not be "
                    + (name == null ? "null" : "empty") + "; give each agent a short name such as the service's");
        }
        if (tags == null) {
            throw new InvalidConfigurationException("tags must not be null");
        }
        this.agent = agent;
        this.name = name;
        this.tags = Tags.of(tags).and("name", name);
    }

    /**
     * Registers the meters listed above with {@code registry}. Binding the same agent under the same
     * name twice yields the meters already registered.
     *
     * @param registry the registry, not null
     */
    @Override
    public void bindTo(MeterRegistry registry) {
        Poller poller = new Poller(agent);
        gauge(registry, poller, "freshcreds.credentials.expiry", "seconds",
                "Seconds until the credentials expire on AWS's clock; 0 once expired; -1 when there are none, "
                        + "they do not expire, or the agent is closed",
                AgentStats::secondsToExpiry);
        gauge(registry, poller, "freshcreds.credentials.generation", null,
                "How many times new credentials were loaded",
                AgentStats::generation);
        gauge(registry, poller, "freshcreds.clock.offset", "seconds",
                "AWS time minus this host's clock, as estimated; positive when this host is behind",
                s -> s.clockOffsetMillis() / 1000.0);
        gauge(registry, poller, "freshcreds.state", null,
                "Agent state: 0 OK, 1 STARTING, 2 SERVING_STALE (last refresh failed, credentials still valid), "
                        + "3 FAILING (no valid credentials), 4 CLOSED",
                s -> s.state().code());
        counter(registry, poller, "freshcreds.refreshes", null, "Fetches that brought new credentials",
                AgentStats::refreshes);
        counter(registry, poller, "freshcreds.failures", null, "Failed fetches from the credential source",
                AgentStats::failures);
        counter(registry, poller, "freshcreds.imds.requests", "token",
                "IMDS requests by kind (token: IMDSv2 session tokens; metadata: role name and credentials), retries included",
                AgentStats::imdsTokenRequests);
        counter(registry, poller, "freshcreds.imds.requests", "metadata",
                "IMDS requests by kind (token: IMDSv2 session tokens; metadata: role name and credentials), retries included",
                AgentStats::imdsMetadataRequests);
        counter(registry, poller, "freshcreds.imds.retries", null,
                "IMDS requests that retried a failed one (also counted in freshcreds.imds.requests)",
                AgentStats::imdsRetries);
    }

    /** A gauge holding {@code poller} strongly: the registry keeps it, not the application. */
    private void gauge(MeterRegistry registry, Poller poller, String meter, String baseUnit, String description,
                       ToDoubleFunction<AgentStats> value) {
        Gauge.Builder<Poller> b = Gauge.builder(meter, poller, p -> value.applyAsDouble(p.stats()))
                .tags(tags)
                .description(description)
                .strongReference(true);
        if (baseUnit != null) {
            b.baseUnit(baseUnit);
        }
        b.register(registry);
    }

    /**
     * A function counter. {@code FunctionCounter} holds its object weakly, so the function itself
     * holds {@code poller}: the counter keeps counting for as long as it is registered.
     */
    private void counter(MeterRegistry registry, Poller poller, String meter, String kind, String description,
                         ToDoubleFunction<AgentStats> value) {
        FunctionCounter.Builder<Poller> b = FunctionCounter
                .builder(meter, poller, ignored -> value.applyAsDouble(poller.stats()))
                .tags(tags)
                .description(description);
        if (kind != null) {
            b.tag("kind", kind);
        }
        b.register(registry);
    }

    /**
     * The binder's agent name and tags.
     *
     * @return a one-line description
     */
    @Override
    public String toString() {
        return "FreshcredsMeterBinder{name=" + name + ", tags=" + tags + "}";
    }

    /** Reads the agent's statistics; the last reading stands in once the agent is closed. */
    private static final class Poller {
        private final FreshcredsAgent agent;
        private volatile AgentStats last;

        Poller(FreshcredsAgent agent) {
            this.agent = agent;
        }

        AgentStats stats() {
            AgentStats stats = AgentStats.of(agent, last);
            last = stats;
            return stats;
        }
    }
}
