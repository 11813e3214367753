package mentorship.store;

import de.bwaldvogel.mongo.MongoBackend;
import de.bwaldvogel.mongo.MongoServer;
import de.bwaldvogel.mongo.MongoVersion;
import de.bwaldvogel.mongo.bson.Document;
import io.netty.channel.Channel;
import java.util.List;
import java.util.Set;
import java.util.concurrent.locks.ReadWriteLock;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import org.h2.mvstore.MVStore;

/**
 * Starts mongo-java-server for local runs and tests: the memory backend (tests, CI, benchmarks)
 * or the H2 file backend (make run, so a restart keeps what Kafka's committed offsets assume).
 *
 * <p>Usage: {@code StoreLauncher --port N [--host 127.0.0.1] [--h2-file PATH] [--tag STATE_DIR]}
 *
 * <p>mongo-java-server reports wire version 8 by default; PyMongo 4.20 refuses servers below 9, so
 * the backend reports MongoDB 5.0 (wire version 13). The commands PyMongo sends for the features the
 * services use are the same from wire 9 to 13.
 */
public final class StoreLauncher {

    /** What the server says it is: MongoDB 5.0, wire version 13. */
    static final MongoVersion REPORTED_VERSION = new MongoVersion() {
        @Override
        public List<Integer> getVersionArray() {
            return List.of(5, 0, 0);
        }

        @Override
        public int getWireVersion() {
            return 13;
        }
    };

    /** Commands that change data: after each one the H2 backend commits, so kill -9 loses nothing acknowledged. */
    private static final Set<String> WRITE_COMMANDS = Set.of(
            "insert", "update", "delete", "findandmodify", "createindexes", "dropindexes",
            "drop", "dropdatabase", "create", "renamecollection");

    /**
     * H2 file backend that commits its MVStore after every write, before the write is acknowledged,
     * and only between whole writes.
     *
     * <p>A write changes several maps one after another (a document, then each index; a new
     * collection, then its _id index). A commit that lands in between, from another connection's
     * write or from the MVStore's own background thread, makes that half a durable version; a kill
     * -9 before the next commit then leaves, say, a document its _id index does not know, and every
     * later insert of that id fails with "Document with key ... already existed" instead of a
     * duplicate-key error (the default simulation dead-lettered an event on it after the store was
     * killed). So writes share a lock that a commit takes alone, and the background commit is off.
     */
    static final class DurableH2Backend extends IndexedH2Backend {
        private final ReadWriteLock commits = new ReentrantReadWriteLock();

        DurableH2Backend(String fileName) {
            super(new MVStore.Builder().fileName(fileName).autoCommitDisabled().open());
        }

        @Override
        public Document handleCommand(Channel channel, String database, String command, Document query) {
            if (!WRITE_COMMANDS.contains(command.toLowerCase())) {
                return super.handleCommand(channel, database, command, query);
            }
            commits.readLock().lock();
            try {
                return super.handleCommand(channel, database, command, query);
            } finally {
                commits.readLock().unlock();
                commits.writeLock().lock();
                try {
                    commit(); // also after a failed write: what it did apply is answered as applied
                } finally {
                    commits.writeLock().unlock();
                }
            }
        }
    }

    private StoreLauncher() {
    }

    public static void main(String[] args) throws InterruptedException {
        String host = "127.0.0.1";
        int port = 27017;
        String h2File = null;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--host" -> host = args[++i];
                case "--port" -> port = Integer.parseInt(args[++i]);
                case "--h2-file" -> h2File = args[++i];
                // Names the state dir in the command line, so a stale pid file never adopts another server.
                case "--tag" -> i++;
                default -> {
                    System.err.println("unknown argument: " + args[i]);
                    System.exit(2);
                }
            }
        }
        MongoBackend backend = h2File == null ? new IndexedMemoryBackend() : new DurableH2Backend(h2File);
        backend.version(REPORTED_VERSION);
        MongoServer server = new MongoServer(backend);
        server.bind(host, port);
        Runtime.getRuntime().addShutdownHook(new Thread(server::shutdown, "store-shutdown"));
        // The readiness probe (localstack) waits for this line and a real wire round trip.
        System.out.println("mongo-java-server listening on " + host + ":" + port
                + " backend=" + (h2File == null ? "memory" : "h2:" + h2File));
        System.out.flush();
        Thread.currentThread().join();
    }
}
