/*
 * ZkInterop: an Apache Curator 5.4 contender for zksync's interop tests (issue 14).
 *
 * The Rust tests spawn this program next to zksync participants (Layout::Curator) on the same
 * ZooKeeper path and read its stdout to see when it holds the lock. Its twin for kazoo is
 * interop/kazoo/zk_interop.py; both take the same arguments and print the same lines.
 *
 * Build and run (scripts/common.sh ensure_interop does both):
 *   javac -d target/interop/curator -cp "$(cat target/interop/curator/classpath)" interop/curator/ZkInterop.java
 *   target/interop/curator/run --hosts H --recipe R --path P --id ID [options]
 *
 * Command line:
 *   --hosts H          ZooKeeper connect string
 *   --recipe R         mutex      InterProcessMutex(path)                        (no node data)
 *                      read       InterProcessReadWriteLock(path, id).readLock()
 *                      write      InterProcessReadWriteLock(path, id).writeLock()
 *                      semaphore  InterProcessSemaphoreV2(path, max), setNodeData(id), one lease
 *                      election   LeaderLatch(path, id): start(), await(); release = close()
 *                                 (a new latch each round; close() deletes the node in the
 *                                 background, so we wait until it is gone before "released")
 *   --path P --id ID   the recipe's path; the id (node data where the recipe takes data)
 *   --max N            semaphore leases (default 1)
 *   --rounds R         acquire/release rounds (default 1)
 *   --hold-ms MS       how long to hold each time (default 0)
 *   --session-ms T     session timeout (default 4000); connection timeout 3000 ms,
 *                      retry policy ExponentialBackoffRetry(100, 10)
 *   --hold-forever     acquire once, print "acquired", then block until killed
 *
 * stdout, one line per event, flushed at once (mono_ns = System.nanoTime(), CLOCK_MONOTONIC):
 *   ready                       connected
 *   acquired <id> <mono_ns>     the acquire returned
 *   releasing <id> <mono_ns>    about to release (after holding --hold-ms)
 *   released <id> <mono_ns>     the release returned (our node is deleted)
 *   done                        after all rounds; then the client is closed and we exit 0
 * Any error: one line on stderr, exit 1. SIGTERM: the JVM exits at once (nothing released).
 * Logging goes nowhere (slf4j-nop on the classpath).
 */

import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.framework.recipes.leader.LeaderLatch;
import org.apache.curator.framework.recipes.locks.InterProcessLock;
import org.apache.curator.framework.recipes.locks.InterProcessMutex;
import org.apache.curator.framework.recipes.locks.InterProcessReadWriteLock;
import org.apache.curator.framework.recipes.locks.InterProcessSemaphoreV2;
import org.apache.curator.framework.recipes.locks.Lease;
import org.apache.curator.retry.ExponentialBackoffRetry;

public final class ZkInterop {
    private static String hosts, recipe, path, id;
    private static int max = 1, rounds = 1, sessionMs = 4000;
    private static long holdMs = 0;
    private static boolean holdForever = false;

    public static void main(String[] args) {
        try {
            parse(args);
            run();
            System.exit(0);
        } catch (Throwable e) {
            String msg = e.getMessage() == null ? "" : ": " + e.getMessage().replace('\n', ' ');
            System.err.println("ZkInterop error: " + e.getClass().getName() + msg);
            System.err.flush();
            System.exit(1);
        }
    }

    private static void parse(String[] args) {
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (a.equals("--hold-forever")) {
                holdForever = true;
                continue;
            }
            if (i + 1 >= args.length) throw new IllegalArgumentException("missing value for " + a);
            String v = args[++i];
            switch (a) {
                case "--hosts": hosts = v; break;
                case "--recipe": recipe = v; break;
                case "--path": path = v; break;
                case "--id": id = v; break;
                case "--max": max = Integer.parseInt(v); break;
                case "--rounds": rounds = Integer.parseInt(v); break;
                case "--hold-ms": holdMs = Long.parseLong(v); break;
                case "--session-ms": sessionMs = Integer.parseInt(v); break;
                default: throw new IllegalArgumentException("unknown argument " + a);
            }
        }
        if (hosts == null || recipe == null || path == null || id == null)
            throw new IllegalArgumentException("--hosts, --recipe, --path and --id are required");
        if (!path.startsWith("/")) throw new IllegalArgumentException("--path must start with /");
        if (!recipe.matches("mutex|read|write|semaphore|election"))
            throw new IllegalArgumentException("unknown recipe " + recipe);
    }

    private static void say(String line) {
        System.out.println(line);
        System.out.flush();
    }

    private static void event(String what) {
        say(what + " " + id + " " + System.nanoTime());
    }

    /** One participant: acquire() blocks until held, release() gives it back. */
    private interface Contender {
        void acquire() throws Exception;
        void release() throws Exception;
    }

    private static Contender contender(CuratorFramework client) {
        byte[] data = id.getBytes(StandardCharsets.UTF_8);
        switch (recipe) {
            case "mutex": return lock(new InterProcessMutex(client, path));
            case "read": return lock(new InterProcessReadWriteLock(client, path, data).readLock());
            case "write": return lock(new InterProcessReadWriteLock(client, path, data).writeLock());
            case "semaphore": {
                InterProcessSemaphoreV2 sem = new InterProcessSemaphoreV2(client, path, max);
                sem.setNodeData(data);
                return new Contender() {
                    Lease lease;
                    public void acquire() throws Exception { lease = sem.acquire(); }
                    public void release() throws Exception { sem.returnLease(lease); lease = null; }
                };
            }
            default: return new Contender() { // election
                LeaderLatch latch;
                public void acquire() throws Exception {
                    latch = new LeaderLatch(client, path, id);
                    latch.start();
                    while (!latch.hasLeadership()) latch.await();
                }
                public void release() throws Exception {
                    String ours = latch.getOurPath();
                    latch.close();
                    latch = null;
                    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
                    while (ours != null && client.checkExists().forPath(ours) != null) {
                        if (System.nanoTime() > deadline)
                            throw new IllegalStateException("latch node " + ours + " not deleted in 30 s");
                        Thread.sleep(5);
                    }
                }
            };
        }
    }

    private static Contender lock(InterProcessLock l) {
        return new Contender() {
            public void acquire() throws Exception { l.acquire(); }
            public void release() throws Exception { l.release(); }
        };
    }

    private static void run() throws Exception {
        CuratorFramework client = CuratorFrameworkFactory.builder()
                .connectString(hosts)
                .sessionTimeoutMs(sessionMs)
                .connectionTimeoutMs(3000)
                .retryPolicy(new ExponentialBackoffRetry(100, 10))
                .build();
        client.start();
        if (!client.blockUntilConnected(15, TimeUnit.SECONDS))
            throw new IllegalStateException("not connected to " + hosts + " within 15 s");
        say("ready");
        Contender c = contender(client);
        for (int round = 0; round < (holdForever ? 1 : rounds); round++) {
            c.acquire();
            event("acquired");
            if (holdForever) {
                Thread.sleep(Long.MAX_VALUE);
            }
            if (holdMs > 0) Thread.sleep(holdMs);
            event("releasing");
            c.release();
            event("released");
        }
        say("done");
        client.close();
    }
}
