package dev.freshcreds;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Logs the native library's log events through the application's logging: SLF4J when
 * {@code org.slf4j.LoggerFactory} and a binding for it are on the class path, otherwise
 * {@code java.util.logging}.
 *
 * <p>Native code formats each event into a bounded process-wide queue; no native thread ever
 * attaches to the JVM. {@link #drain()} takes the events out and logs them, each under the logger
 * {@code dev.freshcreds.native.<target>} (the Rust target with {@code ::} replaced by {@code .},
 * e.g. {@code dev.freshcreds.native.freshcreds_core.cache}). It runs on every agent's watcher
 * thread at least once a second and when an agent closes.
 *
 * <p>The level of the logger {@code dev.freshcreds.native} decides what native code records: before an
 * agent is built and on every drain, the most verbose level enabled for it is passed to native code,
 * which formats nothing for a level that is off.
 */
final class NativeLogForwarder {
    /** The parent of every native logger. */
    static final String ROOT = "dev.freshcreds.native";
    /** Events taken per native call. */
    private static final int BATCH = 1024;
    private static final Logger LOG = Logger.getLogger(NativeLogForwarder.class.getName());
    private static final Backend BACKEND = chooseBackend();
    private static final Object DRAIN_LOCK = new Object();

    private NativeLogForwarder() {
    }

    /** Which logging the events go to: {@code "slf4j"} or {@code "java.util.logging"}. */
    static String backendName() {
        return BACKEND.name();
    }

    /** The logger name for a Rust target. */
    static String loggerName(String target) {
        if (target == null || target.isEmpty()) {
            return ROOT;
        }
        return ROOT + "." + target.replace("::", ".");
    }

    /** Tells native code the most verbose level the logger {@link #ROOT} has enabled. */
    static void updateLevel() {
        try {
            NativeAgent.setLogLevel(BACKEND.mostVerboseLevel());
        } catch (RuntimeException | LinkageError e) {
            LOG.log(Level.FINE, "freshcreds could not set the native log level", e);
        }
    }

    /** Logs every queued native event, then updates the native level. Never throws. */
    static void drain() {
        synchronized (DRAIN_LOCK) {
            try {
                while (true) {
                    String[] events = NativeAgent.drainLogEvents(BATCH);
                    if (events == null) {
                        break;
                    }
                    for (int i = 0; i + 2 < events.length; i += 3) {
                        BACKEND.log(events[i], events[i + 1], events[i + 2]);
                    }
                    if (events.length < BATCH * 3) {
                        break;
                    }
                }
            } catch (RuntimeException | LinkageError e) {
                LOG.log(Level.FINE, "freshcreds could not forward native log events", e);
            }
        }
        updateLevel();
    }

    /**
     * SLF4J when its API and a binding are on the class path; otherwise java.util.logging. Without a
     * binding SLF4J drops every event (its NOP fallback), so a warning that credentials are failing
     * would be lost: java.util.logging still shows it. The binding is looked for as a resource, so
     * SLF4J is not initialised (nor its own warnings printed) when it is not used.
     */
    private static Backend chooseBackend() {
        ClassLoader loader = NativeLogForwarder.class.getClassLoader();
        if (loader == null) {
            loader = ClassLoader.getSystemClassLoader();
        }
        try {
            Class.forName("org.slf4j.LoggerFactory", false, loader);
        } catch (ClassNotFoundException | LinkageError e) {
            return new JulBackend();
        }
        // SLF4J 1.7 bindings provide org.slf4j.impl.StaticLoggerBinder; 2.x providers register a service.
        boolean bound = loader.getResource("org/slf4j/impl/StaticLoggerBinder.class") != null
                || loader.getResource("META-INF/services/org.slf4j.spi.SLF4JServiceProvider") != null;
        return bound ? new Slf4jBackend() : new JulBackend();
    }

    /** A logging API. */
    private interface Backend {
        String name();

        /** 0 off, 1 error, 2 warn, 3 info, 4 debug, 5 trace, for the logger {@link #ROOT}. */
        int mostVerboseLevel();

        void log(String level, String target, String message);
    }

    /** {@code java.util.logging}: ERROR SEVERE, WARN WARNING, INFO INFO, DEBUG FINE, TRACE FINEST (as slf4j-jdk14 maps them). */
    private static final class JulBackend implements Backend {
        private final Map<String, Logger> loggers = new ConcurrentHashMap<String, Logger>();
        private final Logger root = Logger.getLogger(ROOT);

        @Override
        public String name() {
            return "java.util.logging";
        }

        @Override
        public int mostVerboseLevel() {
            if (root.isLoggable(Level.FINEST)) {
                return 5;
            }
            if (root.isLoggable(Level.FINE)) {
                return 4;
            }
            if (root.isLoggable(Level.INFO)) {
                return 3;
            }
            if (root.isLoggable(Level.WARNING)) {
                return 2;
            }
            return root.isLoggable(Level.SEVERE) ? 1 : 0;
        }

        @Override
        public void log(String level, String target, String message) {
            String name = loggerName(target);
            Logger logger = loggers.get(name);
            if (logger == null) {
                logger = Logger.getLogger(name);
                loggers.put(name, logger);
            }
            logger.logp(julLevel(level), target, null, message);
        }

        private static Level julLevel(String level) {
            if ("ERROR".equals(level)) {
                return Level.SEVERE;
            }
            if ("WARN".equals(level)) {
                return Level.WARNING;
            }
            if ("INFO".equals(level)) {
                return Level.INFO;
            }
            if ("DEBUG".equals(level)) {
                return Level.FINE;
            }
            return Level.FINEST;
        }
    }

    /** SLF4J; only loaded when its API is on the class path. */
    private static final class Slf4jBackend implements Backend {
        private final Map<String, org.slf4j.Logger> loggers = new ConcurrentHashMap<String, org.slf4j.Logger>();
        private final org.slf4j.Logger root = org.slf4j.LoggerFactory.getLogger(ROOT);

        @Override
        public String name() {
            return "slf4j";
        }

        @Override
        public int mostVerboseLevel() {
            if (root.isTraceEnabled()) {
                return 5;
            }
            if (root.isDebugEnabled()) {
                return 4;
            }
            if (root.isInfoEnabled()) {
                return 3;
            }
            if (root.isWarnEnabled()) {
                return 2;
            }
            return root.isErrorEnabled() ? 1 : 0;
        }

        @Override
        public void log(String level, String target, String message) {
            String name = loggerName(target);
            org.slf4j.Logger logger = loggers.get(name);
            if (logger == null) {
                logger = org.slf4j.LoggerFactory.getLogger(name);
                loggers.put(name, logger);
            }
            if ("ERROR".equals(level)) {
                logger.error(message);
            } else if ("WARN".equals(level)) {
                logger.warn(message);
            } else if ("INFO".equals(level)) {
                logger.info(message);
            } else if ("DEBUG".equals(level)) {
                logger.debug(message);
            } else {
                logger.trace(message);
            }
        }
    }
}
