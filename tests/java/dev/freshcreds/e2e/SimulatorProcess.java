package dev.freshcreds.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.HttpURLConnection;
import java.net.Proxy;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * Runs {@code freshcreds-sim} as a child process bound to 127.0.0.1 for one test class (or the demo).
 *
 * <p>The binary comes from the system property {@code freshcreds.test.simulator} (set by the Gradle
 * test task) or {@code freshcreds.simulator} (set by the demo task). The simulator exits when its stdin
 * closes; {@link #close()} closes stdin, then destroys the process if it is still there.
 */
public final class SimulatorProcess implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Process process;
    private final File stderrFile;
    private final String baseUrl;
    private final int port;
    private final long originEpochMillis;
    private final double timeScale;

    private SimulatorProcess(Process process, File stderrFile, JsonNode listening) {
        this.process = process;
        this.stderrFile = stderrFile;
        this.port = listening.path("port").asInt();
        this.baseUrl = listening.path("base_url").asText("http://127.0.0.1:" + port);
        this.originEpochMillis = listening.path("origin_epoch_millis").asLong();
        this.timeScale = listening.path("time_scale").asDouble();
        if (!baseUrl.startsWith("http://127.0.0.1:")) {
            process.destroyForcibly();
            throw new IllegalStateException("simulator must listen on 127.0.0.1, it said " + listening);
        }
    }

    /** Default test settings: 600x time, 1 h credentials rotated 20 min before expiry (a new one every 4 s). */
    public static SimulatorProcess start() throws IOException {
        return start(600, 3600, 1200);
    }

    public static SimulatorProcess start(double timeScale, long lifetimeSecs, long rotateBeforeSecs) throws IOException {
        return start(timeScale, lifetimeSecs, rotateBeforeSecs, Collections.<String>emptyList());
    }

    public static SimulatorProcess start(double timeScale, long lifetimeSecs, long rotateBeforeSecs,
                                         List<String> extraArgs) throws IOException {
        String path = System.getProperty("freshcreds.test.simulator");
        if (path == null || path.isEmpty()) {
            path = System.getProperty("freshcreds.simulator");
        }
        if (path == null || path.isEmpty()) {
            throw new IllegalStateException("set -Dfreshcreds.test.simulator=/path/to/freshcreds-sim "
                    + "(the Gradle test task does: it runs cargo build --release -p freshcreds-sim first)");
        }
        File binary = new File(path);
        if (!binary.canExecute()) {
            throw new IllegalStateException("simulator binary " + binary + " does not exist or is not executable; "
                    + "build it with: cargo build --release -p freshcreds-sim");
        }
        List<String> cmd = new ArrayList<String>();
        cmd.add(binary.getAbsolutePath());
        cmd.add("--port");
        cmd.add("0");
        cmd.add("--time-scale");
        cmd.add(formatScale(timeScale));
        cmd.add("--lifetime-secs");
        cmd.add(Long.toString(lifetimeSecs));
        cmd.add("--rotate-before-secs");
        cmd.add(Long.toString(rotateBeforeSecs));
        cmd.addAll(extraArgs);

        File stderrFile = File.createTempFile("freshcreds-sim-", ".log");
        stderrFile.deleteOnExit();
        ProcessBuilder pb = new ProcessBuilder(cmd);
        pb.redirectError(ProcessBuilder.Redirect.appendTo(stderrFile));
        pb.redirectOutput(ProcessBuilder.Redirect.PIPE);
        pb.redirectInput(ProcessBuilder.Redirect.PIPE);
        final Process process = pb.start();

        final BlockingQueue<Object> firstLine = new ArrayBlockingQueue<Object>(1);
        Thread reader = new Thread(new Runnable() {
            @Override
            public void run() {
                BufferedReader r = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
                try {
                    String line = r.readLine();
                    firstLine.offer(line == null ? "<simulator closed stdout without printing a line>" : line);
                    // keep draining so the simulator never blocks on a full pipe
                    while (r.readLine() != null) {
                        // discard
                    }
                } catch (IOException e) {
                    firstLine.offer(e);
                }
            }
        }, "freshcreds-sim-stdout");
        reader.setDaemon(true);
        reader.start();

        Object got;
        try {
            got = firstLine.poll(60, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while waiting for the simulator", e);
        }
        if (!(got instanceof String)) {
            process.destroyForcibly();
            throw new IOException("simulator did not print its listening line within 60 s: " + got
                    + "; stderr: " + tail(stderrFile));
        }
        JsonNode listening;
        try {
            listening = JSON.readTree((String) got);
        } catch (IOException e) {
            process.destroyForcibly();
            throw new IOException("simulator's first line is not JSON: " + got + "; stderr: " + tail(stderrFile), e);
        }
        if (!"listening".equals(listening.path("event").asText())) {
            process.destroyForcibly();
            throw new IOException("unexpected first line from simulator: " + got);
        }
        return new SimulatorProcess(process, stderrFile, listening);
    }

    private static String formatScale(double scale) {
        return scale == Math.rint(scale) ? Long.toString((long) scale) : Double.toString(scale);
    }

    public String baseUrl() {
        return baseUrl;
    }

    public int port() {
        return port;
    }

    public long originEpochMillis() {
        return originEpochMillis;
    }

    public double timeScale() {
        return timeScale;
    }

    /** {@code GET /_sim/stats}. */
    public Stats stats() throws IOException {
        return new Stats(JSON.readTree(request("GET", "/_sim/stats")));
    }

    /** {@code POST /_sim/rotate}: the simulator issues a new credential generation now. */
    public JsonNode rotate() throws IOException {
        String body = request("POST", "/_sim/rotate");
        return body.trim().isEmpty() ? JSON.createObjectNode() : JSON.readTree(body);
    }

    /** {@code GET /_sim/clock}. */
    public JsonNode clock() throws IOException {
        return JSON.readTree(request("GET", "/_sim/clock"));
    }

    /** The simulator's compressed "now", in epoch milliseconds. */
    public long simNowEpochMillis() throws IOException {
        return clock().path("sim_now_epoch_millis").asLong();
    }

    /** The last lines the simulator wrote to stderr, for failure messages. */
    public String stderrTail() {
        return tail(stderrFile);
    }

    public boolean isAlive() {
        try {
            process.exitValue();
            return false;
        } catch (IllegalThreadStateException e) {
            return true;
        }
    }

    private String request(String method, String path) throws IOException {
        HttpURLConnection c = (HttpURLConnection) new URL(baseUrl + path).openConnection(Proxy.NO_PROXY);
        c.setRequestMethod(method);
        c.setConnectTimeout(5000);
        c.setReadTimeout(10000);
        if ("POST".equals(method)) {
            c.setDoOutput(true);
            c.setFixedLengthStreamingMode(0);
            c.getOutputStream().close();
        }
        int code = c.getResponseCode();
        InputStream in = code >= 400 ? c.getErrorStream() : c.getInputStream();
        String body = in == null ? "" : readAll(in);
        c.disconnect();
        if (code >= 400) {
            throw new IOException(method + " " + path + " -> HTTP " + code + ": " + body);
        }
        return body;
    }

    private static String readAll(InputStream in) throws IOException {
        try {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            byte[] buf = new byte[4096];
            int n;
            while ((n = in.read(buf)) > 0) {
                out.write(buf, 0, n);
            }
            return new String(out.toByteArray(), StandardCharsets.UTF_8);
        } finally {
            in.close();
        }
    }

    private static String tail(File f) {
        try {
            List<String> lines = Files.readAllLines(f.toPath(), StandardCharsets.UTF_8);
            int from = Math.max(0, lines.size() - 30);
            StringBuilder sb = new StringBuilder();
            for (String l : lines.subList(from, lines.size())) {
                sb.append("\n  ").append(l);
            }
            return sb.length() == 0 ? "(empty)" : sb.toString();
        } catch (IOException e) {
            return "(unreadable: " + e + ")";
        }
    }

    /** Closes the simulator's stdin (it exits), then destroys it if it is still running after 5 s. */
    @Override
    public void close() {
        try {
            OutputStream stdin = process.getOutputStream();
            stdin.close();
        } catch (IOException e) {
            // ignore
        }
        try {
            if (!process.waitFor(5, TimeUnit.SECONDS)) {
                process.destroy();
                if (!process.waitFor(5, TimeUnit.SECONDS)) {
                    process.destroyForcibly();
                    process.waitFor(5, TimeUnit.SECONDS);
                }
            }
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
        }
        stderrFile.delete();
    }

    @Override
    public String toString() {
        return "SimulatorProcess{" + baseUrl + ", scale=" + timeScale + "}";
    }

    /** One reading of {@code GET /_sim/stats}. */
    public static final class Stats {
        private final JsonNode json;

        Stats(JsonNode json) {
            this.json = json;
        }

        public long get(String field) {
            JsonNode n = json.get(field);
            if (n == null || !n.canConvertToLong()) {
                throw new IllegalStateException("simulator stats have no numeric field '" + field + "': " + json);
            }
            return n.asLong();
        }

        public long generation() {
            return get("generation");
        }

        public long rotations() {
            return get("rotations");
        }

        public long credentialGets() {
            return get("credential_gets");
        }

        public long stsCalls() {
            return get("sts_calls");
        }

        public long stsOk() {
            return get("sts_ok");
        }

        public long stsExpiredToken() {
            return get("sts_expired_token");
        }

        /** sts_signature_does_not_match + sts_invalid_client_token_id + sts_other_errors. */
        public long stsOtherFailures() {
            return get("sts_signature_does_not_match") + get("sts_invalid_client_token_id") + get("sts_other_errors");
        }

        /** generation → number of credential document GETs that served it. */
        public Map<Long, Long> credentialGetsByGeneration() {
            Map<Long, Long> out = new TreeMap<Long, Long>();
            JsonNode n = json.get("credential_gets_by_generation");
            if (n != null) {
                Iterator<Map.Entry<String, JsonNode>> it = n.fields();
                while (it.hasNext()) {
                    Map.Entry<String, JsonNode> e = it.next();
                    out.put(Long.parseLong(e.getKey()), e.getValue().asLong());
                }
            }
            return out;
        }

        public JsonNode json() {
            return json;
        }

        @Override
        public String toString() {
            return json.toString();
        }
    }
}
