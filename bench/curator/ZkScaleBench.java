/*
 * ZkScaleBench: Apache Curator 5.4's side of zksync's scale benchmarks (issue 16), one JVM per
 * run, printing one JSON line in the shape of examples/bench.rs's (client "curator").
 *
 * Build and run (scripts/common.sh ensure_bench_peers does both):
 *   javac -d target/bench-peers/curator -cp "$(cat target/interop/curator/classpath)" bench/curator/ZkScaleBench.java
 *   target/bench-peers/curator/run --servers H --scenario S [--ops N] [--clients K] [--warmup N]
 *
 * Scenarios (the same measurements as zksync's; see examples/bench.rs and bench/scale.rs):
 *   handoff         K sessions (one CuratorFramework each, a thread each) loop acquire/release
 *                   of one InterProcessMutex; --warmup N acquisitions fill the queue, then
 *                   --ops are timed grant to grant; p50/p99 ask-to-granted
 *   barrier         K waiters (a session and a thread each) in DistributedBarrier.waitOnBarrier;
 *                   armed when the servers list K sessions watching the path (4lw `wchp`); --ops rounds,
 *                   each timed from removeBarrier() to the last waiter back
 *   double-barrier  K participants, DistributedDoubleBarrier(K): enter() + leave(), --ops rounds
 *   many-locks      one session holds --ops InterProcessMutexes on different paths (acquired by
 *                   64 threads, each releasing its own: Curator's locks belong to a thread);
 *                   Curator has no per-lock loss monitor (a ConnectionStateListener is
 *                   per client), so none is armed
 * Memory: VmHWM (max_rss_kb) and VmRSS at the steady point, per session (minus the RSS before
 * the sessions were opened). Sessions: timeout 10 s, ExponentialBackoffRetry(100, 10).
 */

import java.nio.file.Files;
import java.nio.file.Paths;
import java.util.*;
import java.util.concurrent.*;
import java.util.concurrent.atomic.*;
import java.io.*;
import java.net.Socket;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.framework.recipes.barriers.DistributedBarrier;
import org.apache.curator.framework.recipes.barriers.DistributedDoubleBarrier;
import org.apache.curator.framework.recipes.locks.InterProcessMutex;
import org.apache.curator.retry.ExponentialBackoffRetry;

public final class ZkScaleBench {
    static String servers = "127.0.0.1:2181", scenario = "handoff";
    static long ops = 0, warmup = 0;
    static int clients = 0;
    static final String ROOT = "/bench-curator-" + ProcessHandle.current().pid();
    static final Map<String, String> extra = new LinkedHashMap<>();
    static final AtomicLong ERRORS = new AtomicLong();

    public static void main(String[] args) throws Exception {
        for (int i = 0; i + 1 < args.length; i += 2) {
            String v = args[i + 1];
            switch (args[i]) {
                case "--servers": servers = v; break;
                case "--scenario": scenario = v; break;
                case "--ops": ops = Long.parseLong(v); break;
                case "--clients": clients = Integer.parseInt(v); break;
                case "--warmup": warmup = Long.parseLong(v); break;
                default: throw new IllegalArgumentException("unknown flag " + args[i]);
            }
        }
        long base = status("VmRSS:");
        double secs;
        switch (scenario) {
            case "handoff": secs = handoff(base); break;
            case "barrier": secs = barrier(base); break;
            case "double-barrier": secs = doubleBarrier(base); break;
            case "many-locks": secs = manyLocks(base); break;
            default: throw new IllegalArgumentException("unknown scenario " + scenario);
        }
        StringBuilder line = new StringBuilder();
        line.append(String.format(Locale.ROOT,
                "{\"client\":\"curator\",\"scenario\":\"%s\",\"ops\":%d,\"errors\":%d,\"secs\":%.3f,\"ops_per_sec\":%.0f,\"max_rss_kb\":%d",
                scenario, ops, ERRORS.get(), secs, ops / secs, status("VmHWM:")));
        for (Map.Entry<String, String> e : extra.entrySet())
            line.append(",\"").append(e.getKey()).append("\":").append(e.getValue());
        line.append("}");
        System.out.println(line);
        System.out.flush();
        Runtime.getRuntime().halt(0); // the sessions were closed; do not wait for pool threads
    }

    /** A field of /proc/self/status, kB. */
    static long status(String key) throws IOException {
        for (String l : Files.readAllLines(Paths.get("/proc/self/status")))
            if (l.startsWith(key)) return Long.parseLong(l.split("\\s+")[1]);
        return 0;
    }

    static void mem(long base, int n, String unit) throws IOException {
        long rss = status("VmRSS:"), peak = status("VmHWM:");
        extra.put("rss_kb", Long.toString(rss));
        extra.put("rss_per_" + unit + "_kb", String.format(Locale.ROOT, "%.1f", (rss - base) / (double) n));
        extra.put("peak_rss_per_" + unit + "_kb", String.format(Locale.ROOT, "%.1f", (peak - base) / (double) n));
    }

    static CuratorFramework client() {
        CuratorFramework c = CuratorFrameworkFactory.builder().connectString(servers)
                .sessionTimeoutMs(10000).connectionTimeoutMs(15000)
                .retryPolicy(new ExponentialBackoffRetry(100, 10)).build();
        c.start();
        return c;
    }

    /** k started and connected clients; connect_secs in extra. */
    static List<CuratorFramework> clients(int k) throws Exception {
        long t = System.nanoTime();
        List<CuratorFramework> cs = new ArrayList<>();
        for (int i = 0; i < k; i++) cs.add(client());
        for (CuratorFramework c : cs)
            if (!c.blockUntilConnected(60, TimeUnit.SECONDS)) throw new IllegalStateException("not connected");
        extra.put("connect_secs", String.format(Locale.ROOT, "%.3f", (System.nanoTime() - t) / 1e9));
        extra.put("clients", Integer.toString(k));
        return cs;
    }

    static void latency(List<Double> v, String p50, String p99) {
        Collections.sort(v);
        if (v.isEmpty()) return;
        extra.put(p50, String.format(Locale.ROOT, "%.3f", v.get((int) Math.round((v.size() - 1) * 0.5))));
        extra.put(p99, String.format(Locale.ROOT, "%.3f", v.get((int) Math.round((v.size() - 1) * 0.99))));
    }

    static double handoff(long base) throws Exception {
        int k = clients > 0 ? clients : 20;
        if (ops == 0) ops = 2000;
        List<CuratorFramework> cs = clients(k);
        String path = ROOT + "-handoff";
        long total = warmup + ops + (warmup > 0 ? 1 : 0);
        AtomicLong count = new AtomicLong();
        List<Double> waits = Collections.synchronizedList(new ArrayList<>());
        long[] window = new long[2];
        AtomicLong errors = ERRORS;
        long t0 = System.nanoTime();
        List<Thread> threads = new ArrayList<>();
        for (CuratorFramework c : cs) {
            InterProcessMutex m = new InterProcessMutex(c, path);
            Thread th = new Thread(() -> {
                while (true) {
                    long t = System.nanoTime();
                    try {
                        m.acquire();
                    } catch (Exception e) {
                        errors.incrementAndGet();
                        continue;
                    }
                    long i = count.getAndIncrement();
                    long now = System.nanoTime();
                    if (i >= warmup && i < warmup + ops) waits.add((now - t) / 1e6);
                    if (warmup > 0 && i == warmup) window[0] = now;
                    if (warmup > 0 && i == warmup + ops) {
                        window[1] = now;
                        try { mem(base, k, "session"); } catch (IOException e) { throw new UncheckedIOException(e); }
                    }
                    try { m.release(); } catch (Exception e) { errors.incrementAndGet(); }
                    if (i + 1 >= total) break;
                }
            }, "contender");
            th.start();
            threads.add(th);
        }
        for (Thread th : threads) th.join();
        double secs = (System.nanoTime() - t0) / 1e9;
        if (warmup > 0) {
            secs = (window[1] - window[0]) / 1e9;
            extra.put("warmup", Long.toString(warmup));
        } else {
            mem(base, k, "session");
        }
        latency(waits, "p50_ms", "p99_ms");
        try { cs.get(0).delete().forPath(path); } catch (Exception e) { /* a straggler's node */ }
        for (CuratorFramework c : cs) c.close();
        return secs;
    }

    /** Sessions watching `path` on the servers (4lw wchp, summed over the servers). */
    static long serverWatches(String path) throws IOException {
        long total = 0;
        for (String hp : servers.split(",")) {
            String[] p = hp.trim().split(":");
            try (Socket s = new Socket(p[0], Integer.parseInt(p[1]))) {
                s.getOutputStream().write("wchp".getBytes());
                BufferedReader r = new BufferedReader(new InputStreamReader(s.getInputStream()));
                boolean in = false;
                for (String l; (l = r.readLine()) != null; ) {
                    if (!l.startsWith("\t")) in = l.equals(path);
                    else if (in) total++;
                }
            }
        }
        return total;
    }

    static double barrier(long base) throws Exception {
        int k = clients > 0 ? clients : 50;
        if (ops == 0) ops = 5;
        CuratorFramework setter = client();
        setter.blockUntilConnected();
        List<CuratorFramework> cs = clients(k);
        String path = ROOT + "-barrier";
        DistributedBarrier b = new DistributedBarrier(setter, path);
        List<Double> rounds = new ArrayList<>();
        long t0 = System.nanoTime();
        for (int r = 0; r < ops; r++) {
            b.setBarrier();
            long[] done = new long[k];
            List<Thread> threads = new ArrayList<>();
            for (int i = 0; i < k; i++) {
                DistributedBarrier w = new DistributedBarrier(cs.get(i), path);
                int j = i;
                Thread th = new Thread(() -> {
                    try { w.waitOnBarrier(); done[j] = System.nanoTime(); } catch (Exception e) { ERRORS.incrementAndGet(); }
                }, "waiter");
                th.start();
                threads.add(th);
            }
            while (serverWatches(path) < k) Thread.sleep(1);
            mem(base, k, "session");
            long t = System.nanoTime();
            b.removeBarrier();
            long last = t;
            for (int i = 0; i < k; i++) { threads.get(i).join(); last = Math.max(last, done[i]); }
            rounds.add((last - t) / 1e6);
        }
        double secs = (System.nanoTime() - t0) / 1e9;
        List<Double> sorted = new ArrayList<>(rounds);
        Collections.sort(sorted);
        extra.put("release_ms_median", String.format(Locale.ROOT, "%.3f", sorted.get((sorted.size() - 1) / 2)));
        extra.put("release_ms_max", String.format(Locale.ROOT, "%.3f", sorted.get(sorted.size() - 1)));
        setter.close();
        for (CuratorFramework c : cs) c.close();
        return secs;
    }

    static double doubleBarrier(long base) throws Exception {
        int k = clients > 0 ? clients : 10;
        if (ops == 0) ops = 20;
        List<CuratorFramework> cs = clients(k);
        List<Double> rounds = new ArrayList<>();
        AtomicLong errors = ERRORS;
        long t0 = System.nanoTime();
        for (int r = 0; r < ops; r++) {
            String path = ROOT + "-dbarrier-" + r;
            long t = System.nanoTime();
            List<Thread> threads = new ArrayList<>();
            for (CuratorFramework c : cs) {
                DistributedDoubleBarrier b = new DistributedDoubleBarrier(c, path, k);
                Thread th = new Thread(() -> {
                    try { b.enter(); b.leave(); } catch (Exception e) { errors.incrementAndGet(); }
                }, "participant");
                th.start();
                threads.add(th);
            }
            for (Thread th : threads) th.join();
            rounds.add((System.nanoTime() - t) / 1e6);
            try { cs.get(0).delete().forPath(path); } catch (Exception e) { /* gone */ }
        }
        double secs = (System.nanoTime() - t0) / 1e9;
        mem(base, k, "session");
        latency(rounds, "round_ms_median", "round_ms_p99");
        for (CuratorFramework c : cs) c.close();
        return secs;
    }

    static double manyLocks(long base) throws Exception {
        int n = (int) (ops > 0 ? ops : 10000);
        ops = n;
        int threads = 64;
        CuratorFramework c = client();
        c.blockUntilConnected();
        String root = ROOT + "-locks";
        for (int i = 0; i < n; i++) c.create().creatingParentsIfNeeded().forPath(String.format("%s/l%05d", root, i));
        CountDownLatch acquired = new CountDownLatch(threads), release = new CountDownLatch(1);
        CountDownLatch released = new CountDownLatch(threads);
        AtomicLong errors = ERRORS;
        long[] marks = new long[3];
        long t = System.nanoTime();
        for (int w = 0; w < threads; w++) {
            int first = w;
            new Thread(() -> {
                List<InterProcessMutex> mine = new ArrayList<>();
                for (int i = first; i < n; i += threads) {
                    InterProcessMutex m = new InterProcessMutex(c, String.format("%s/l%05d", root, i));
                    try { m.acquire(); mine.add(m); } catch (Exception e) { errors.incrementAndGet(); }
                }
                acquired.countDown();
                try { release.await(); } catch (InterruptedException e) { return; }
                for (InterProcessMutex m : mine) {
                    try { m.release(); } catch (Exception e) { errors.incrementAndGet(); }
                }
                released.countDown();
            }, "locker").start();
        }
        acquired.await();
        double acquireSecs = (System.nanoTime() - t) / 1e9;
        Thread.sleep(1000); // hold, as zksync's run does
        mem(base, n, "lock");
        t = System.nanoTime();
        release.countDown();
        released.await();
        double releaseSecs = (System.nanoTime() - t) / 1e9;
        for (int i = 0; i < n; i++) c.delete().forPath(String.format("%s/l%05d", root, i));
        c.delete().forPath(root);
        c.close();
        extra.put("locks", Integer.toString(n));
        extra.put("acquire_secs", String.format(Locale.ROOT, "%.3f", acquireSecs));
        extra.put("release_secs", String.format(Locale.ROOT, "%.3f", releaseSecs));
        extra.put("release_per_sec", String.format(Locale.ROOT, "%.0f", n / releaseSecs));
        return acquireSecs;
    }
}
