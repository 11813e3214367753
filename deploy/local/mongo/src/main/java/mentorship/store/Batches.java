package mentorship.store;

import de.bwaldvogel.mongo.bson.Document;

/**
 * mongo-java-server answers a query without a batch size with every matching document in one
 * reply; past 48 MB the driver refuses the reply (a simulation's read of a year of notifications
 * hit it). MongoDB sends at most 101 documents first, then batches of up to 16 MB. This does the
 * same by count for a client's find: 101 first, then {@link #MORE} per getMore that names no batch
 * size (the emulator would refuse such a getMore outright).
 */
final class Batches {

    static final int FIRST = 101;
    static final int MORE = 200;

    private Batches() {
    }

    /**
     * A client's find command with a first batch size (ours when it named none). Only the client's
     * command: the emulator's own queries (a multi-document update, listing its namespaces) read
     * every document of their first batch and nothing more.
     */
    static Document ofFind(String command, Document find) {
        return "find".equalsIgnoreCase(command) ? withSize(find, FIRST) : find;
    }

    /** A getMore command with a batch size (ours when it named none). */
    static Document withBatchSize(Document getMore) {
        return withSize(getMore, MORE);
    }

    private static Document withSize(Document command, int size) {
        Object given = command.get("batchSize");
        if (given instanceof Number number && number.intValue() > 0) {
            return command;
        }
        Document copy = new Document(command);
        copy.put("batchSize", size);
        return copy;
    }
}
