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
import java.net.InetSocketAddress;
import java.net.Proxy;
import java.net.Socket;
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

    /**
     * {@code POST /_sim/revoke}: STS rejects the current generation's session token with 403
     * {@code ExpiredToken} from now on, and IMDS serves the next generation at once. Answers the stats.
     */
    public Stats revoke() throws IOException {
        return new Stats(JSON.readTree(request("POST", "/_sim/revoke")));
    }

    /** {@code POST /_sim/faults}: replaces all faults with this JSON object ({@code "{}"} clears them). */
    public JsonNode setFaults(String json) throws IOException {
        return JSON.readTree(requestWithBody("POST", "/_sim/faults", json));
    }

    /**
     * {@code PATCH /_sim/faults}: changes only the fields given, e.g. {@code {"imds_throttle":true}};
     * a field given as {@code null} goes back to "no fault". Answers all faults.
     */
    public JsonNode patchFaults(String json) throws IOException {
        return JSON.readTree(requestWithBody("PATCH", "/_sim/faults", json));
    }

    /** {@code GET /_sim/faults}. */
    public JsonNode faults() throws IOException {
        return JSON.readTree(request("GET", "/_sim/faults"));
    }

    /** AWS's "now" as the simulator sees it: real time plus the {@code aws_clock_skew_ms} fault. */
    public long awsNowEpochMillis() throws IOException {
        JsonNode n = clock().get("aws_now_epoch_millis");
        if (n == null || !n.canConvertToLong()) {
            throw new IllegalStateException("simulator clock has no aws_now_epoch_millis: " + clock());
        }
        return n.asLong();
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

    /**
     * A request with a JSON body, written by hand over a loopback socket: {@link HttpURLConnection}
     * refuses the PATCH method.
     */
    private String requestWithBody(String method, String path, String json) throws IOException {
        byte[] body = json.getBytes(StandardCharsets.UTF_8);
        Socket socket = new Socket(Proxy.NO_PROXY);
        try {
            socket.connect(new InetSocketAddress("127.0.0.1", port), 5000);
            socket.setSoTimeout(10000);
            OutputStream out = socket.getOutputStream();
            String head = method + " " + path + " HTTP/1.1\r\n"
                    + "Host: 127.0.0.1:" + port + "\r\n"
                    + "Content-Type: application/json\r\n"
                    + "Content-Length: " + body.length + "\r\n"
                    + "Connection: close\r\n\r\n";
            out.write(head.getBytes(StandardCharsets.US_ASCII));
            out.write(body);
            out.flush();
            String raw = readAll(socket.getInputStream());
            int headerEnd = raw.indexOf("\r\n\r\n");
            if (!raw.startsWith("HTTP/1.") || headerEnd < 0) {
                throw new IOException(method + " " + path + ": malformed response: " + raw);
            }
            String[] statusLine = raw.substring(0, raw.indexOf("\r\n")).split(" ");
            int code = Integer.parseInt(statusLine[1]);
            String headers = raw.substring(0, headerEnd).toLowerCase(java.util.Locale.ROOT);
            String responseBody = raw.substring(headerEnd + 4);
            if (headers.contains("\r\ntransfer-encoding: chunked")) {
                responseBody = dechunk(responseBody);
            }
            if (code >= 400) {
                throw new IOException(method + " " + path + " -> HTTP " + code + ": " + responseBody);
            }
            return responseBody;
        } finally {
            socket.close();
        }
    }

    private static String dechunk(String chunked) {
        StringBuilder out = new StringBuilder();
        int pos = 0;
        while (pos < chunked.length()) {
            int lineEnd = chunked.indexOf("\r\n", pos);
            if (lineEnd < 0) {
                break;
            }
            String sizeField = chunked.substring(pos, lineEnd).trim();
            int semi = sizeField.indexOf(';');
            int size = Integer.parseInt(semi >= 0 ? sizeField.substring(0, semi) : sizeField, 16);
            if (size == 0) {
                break;
            }
            // sizes count bytes; control API bodies are ASCII JSON
            out.append(chunked, lineEnd + 2, Math.min(chunked.length(), lineEnd + 2 + size));
            pos = lineEnd + 2 + size + 2;
        }
        return out.toString();
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

        public long stsSignatureDoesNotMatch() {
            return get("sts_signature_does_not_match");
        }

        /** ExpiredToken answers given because the generation was revoked (also in {@link #stsExpiredToken()}). */
        public long stsRevokedRejections() {
            return get("sts_revoked_rejections");
        }

        /** Every request under {@code /latest}, whatever its outcome. */
        public long imdsRequestsTotal() {
            return get("imds_requests_total");
        }

        /** IMDS answers with status 429. */
        public long imdsThrottled() {
            return get("imds_throttled");
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
