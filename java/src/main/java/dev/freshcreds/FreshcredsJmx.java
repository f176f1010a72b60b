package dev.freshcreds;

import java.lang.management.ManagementFactory;
import java.util.List;
import java.util.logging.Level;
import java.util.logging.Logger;

import javax.management.InstanceAlreadyExistsException;
import javax.management.InstanceNotFoundException;
import javax.management.JMException;
import javax.management.MBeanServer;
import javax.management.MalformedObjectNameException;
import javax.management.ObjectName;
import javax.management.StandardMBean;

/**
 * Publishes an agent's statistics over JMX as a {@link FreshcredsMXBean} named
 * {@code dev.freshcreds:type=Agent,name=<name>}.
 *
 * <pre>{@code
 * FreshcredsAgent agent = FreshcredsAgent.builder().build();
 * FreshcredsJmx.Registration jmx = FreshcredsJmx.register(agent, "orders");
 * // ... on shutdown:
 * jmx.close();
 * agent.close();
 * }</pre>
 *
 * <p>The MBean keeps a reference to the agent until the registration is closed; after the agent is
 * closed it keeps showing the last values, in state {@code CLOSED}. Thread-safe.
 */
public final class FreshcredsJmx {
    /** The domain of every freshcreds MBean name: {@value}. */
    public static final String DOMAIN = "dev.freshcreds";

    private static final Logger LOG = Logger.getLogger(FreshcredsJmx.class.getName());

    private FreshcredsJmx() {
    }

    /**
     * The MBean name for an agent name: {@code dev.freshcreds:type=Agent,name=<name>}, the name quoted
     * ({@link ObjectName#quote(String)}) when it holds a character that an unquoted value cannot
     * ({@code , = : " * ?} or a line break).
     *
     * @param name the agent's name, not null or empty
     * @return the MBean name
     * @throws InvalidConfigurationException if {@code name} is null or empty
     */
    public static ObjectName objectName(String name) {
        if (name == null || name.isEmpty()) {
            throw new InvalidConfigurationException("the JMX name of a freshcreds agent must not be "
                    + (name == null ? "null" : "empty") + "; give each agent a short name such as the service's");
        }
        String value = needsQuoting(name) ? ObjectName.quote(name) : name;
        try {
            return new ObjectName(DOMAIN + ":type=Agent,name=" + value);
        } catch (MalformedObjectNameException e) {
            // cannot happen for a quoted value; kept for an unforeseen character
            throw new InvalidConfigurationException("cannot make a JMX name of '" + name + "': " + e.getMessage(), e);
        }
    }

    /**
     * Registers the agent's MBean with the platform MBean server
     * ({@link ManagementFactory#getPlatformMBeanServer()}).
     *
     * @param agent the agent, not null
     * @param name  a name unique among this JVM's agents, not null or empty; the MBean is
     *              {@code dev.freshcreds:type=Agent,name=<name>}
     * @return the registration; close it to unregister (before or after closing the agent)
     * @throws InvalidConfigurationException if {@code agent} or {@code name} is null, {@code name} is
     *                                       empty, or an MBean of that name is already registered
     */
    public static Registration register(FreshcredsAgent agent, String name) {
        return register(agent, name, ManagementFactory.getPlatformMBeanServer());
    }

    /**
     * Registers the agent's MBean with the given MBean server.
     *
     * @param agent  the agent, not null
     * @param name   a name unique among the agents registered with {@code server}, not null or empty;
     *               the MBean is {@code dev.freshcreds:type=Agent,name=<name>}
     * @param server the MBean server, not null
     * @return the registration; close it to unregister (before or after closing the agent)
     * @throws InvalidConfigurationException if an argument is null, {@code name} is empty, or an MBean
     *                                       of that name is already registered with {@code server}
     * @throws FreshcredsException           if the MBean server refuses the MBean for another reason
     */
    public static Registration register(FreshcredsAgent agent, String name, MBeanServer server) {
        if (agent == null) {
            throw new InvalidConfigurationException("agent must not be null");
        }
        if (server == null) {
            throw new InvalidConfigurationException("server must not be null");
        }
        ObjectName objectName = objectName(name);
        StandardMBean mbean = new StandardMBean(new AgentMXBean(agent), FreshcredsMXBean.class, true);
        try {
            server.registerMBean(mbean, objectName);
        } catch (InstanceAlreadyExistsException e) {
            throw new InvalidConfigurationException("an MBean named " + objectName + " is already registered: "
                    + "another freshcreds agent in this JVM has the JMX name '" + name + "'. Give each agent its own "
                    + "name, or close the earlier agent's registration (FreshcredsJmx.Registration.close()) first", e);
        } catch (JMException e) {
            throw new FreshcredsException("could not register the MBean " + objectName + ": " + e, e);
        }
        return new Registration(server, objectName);
    }

    private static boolean needsQuoting(String name) {
        for (int i = 0; i < name.length(); i++) {
            switch (name.charAt(i)) {
                case ',':
                case '=':
                case ':':
                case '"':
                case '*':
                case '?':
                case '\n':
                case '\r':
                    return true;
                default:
                    break;
            }
        }
        return false;
    }

    /**
     * One registered MBean. {@link #close()} unregisters it; closing again does nothing. Thread-safe.
     */
    public static final class Registration implements AutoCloseable {
        private final MBeanServer server;
        private final ObjectName objectName;
        private boolean closed;

        private Registration(MBeanServer server, ObjectName objectName) {
            this.server = server;
            this.objectName = objectName;
        }

        /**
         * The name the MBean is registered under.
         *
         * @return {@code dev.freshcreds:type=Agent,name=<name>}
         */
        public ObjectName objectName() {
            return objectName;
        }

        /**
         * Unregisters the MBean, so that its name can be used again. Idempotent; never throws (an
         * MBean someone else already unregistered is fine).
         */
        @Override
        public void close() {
            synchronized (this) {
                if (closed) {
                    return;
                }
                closed = true;
            }
            try {
                server.unregisterMBean(objectName);
            } catch (InstanceNotFoundException e) {
                // unregistered by someone else: nothing left to do
            } catch (JMException e) {
                LOG.log(Level.FINE, "freshcreds: could not unregister " + objectName, e);
            }
        }

        /**
         * The MBean name, and whether this registration was closed.
         *
         * @return a one-line description
         */
        @Override
        public String toString() {
            synchronized (this) {
                return "FreshcredsJmx.Registration{" + objectName + (closed ? ", closed" : "") + "}";
            }
        }
    }

    /** The MBean: each attribute reads the agent's statistics afresh; the last reading stands in once it is closed. */
    private static final class AgentMXBean implements FreshcredsMXBean {
        private final FreshcredsAgent agent;
        private volatile AgentStats last;

        AgentMXBean(FreshcredsAgent agent) {
            this.agent = agent;
        }

        private AgentStats stats() {
            AgentStats stats = AgentStats.of(agent, last);
            last = stats;
            return stats;
        }

        @Override
        public String getSource() {
            return stats().source();
        }

        @Override
        public String[] getShadowed() {
            List<String> shadowed = stats().shadowed();
            return shadowed.toArray(new String[0]);
        }

        @Override
        public String getState() {
            return stats().state().name();
        }

        @Override
        public int getStateCode() {
            return stats().state().code();
        }

        @Override
        public String getAccessKeyId() {
            return stats().abbreviatedAccessKeyId();
        }

        @Override
        public String getExpiration() {
            AgentStats stats = stats();
            return stats.expiration() == null ? null : stats.expiration().toString();
        }

        @Override
        public long getExpirationEpochMillis() {
            AgentStats stats = stats();
            return stats.expiration() == null ? -1 : stats.expiration().toEpochMilli();
        }

        @Override
        public long getSecondsToExpiry() {
            return stats().secondsToExpiry();
        }

        @Override
        public long getGeneration() {
            return stats().generation();
        }

        @Override
        public long getRefreshes() {
            return stats().refreshes();
        }

        @Override
        public long getFailures() {
            return stats().failures();
        }

        @Override
        public long getSourceCalls() {
            return stats().sourceCalls();
        }

        @Override
        public String getLastError() {
            return stats().lastError();
        }

        @Override
        public long getImdsTokenRequests() {
            return stats().imdsTokenRequests();
        }

        @Override
        public long getImdsMetadataRequests() {
            return stats().imdsMetadataRequests();
        }

        @Override
        public long getImdsRetries() {
            return stats().imdsRetries();
        }

        @Override
        public long getClockOffsetMillis() {
            return stats().clockOffsetMillis();
        }

        @Override
        public long getRefresherRestarts() {
            return stats().refresherRestarts();
        }
    }
}
