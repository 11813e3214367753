package mentorship.store;

import de.bwaldvogel.mongo.bson.Document;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;

/**
 * A client's find and find-and-modify answer with copies of the stored documents, taken under the
 * collection's lock.
 *
 * <p>The emulator answers with the stored documents themselves and encodes them after the lock is
 * released, while writes on other connections change stored documents in place (both backends
 * keep them as objects). A write that added or removed a field of a document being encoded broke
 * the encoding, and the emulator then closed the reader's connection: the driver's
 * {@code AutoReconnect: connection closed}, seen in a test scanning every collection while the
 * services wrote. Updates replace a document's top-level values and never change the old ones
 * inside, so a copy of the top level is a snapshot.
 *
 * <p>Only a client's find is copied: the collection's own reads (an update's, a delete's, a
 * find-and-modify's) must keep the stored documents, which they change.
 */
final class ReadCopies {

    private final ThreadLocal<Boolean> answering = ThreadLocal.withInitial(() -> Boolean.FALSE);

    /**
     * Whether a command is a client's find that must answer with copies: one with a projection
     * answers with documents the projection built (inside the lock) already.
     */
    static boolean needed(String command, Document query) {
        return "find".equalsIgnoreCase(command)
                && !(query.get("projection") instanceof Document projection && !projection.isEmpty());
    }

    /** Runs a client's find: the documents its query result holds are copies. */
    <T> T answering(Supplier<T> find) {
        answering.set(Boolean.TRUE);
        try {
            return find.get();
        } finally {
            answering.remove();
        }
    }

    /** What a query result holds: copies while a client's find runs, else the stored documents. */
    List<Document> of(List<Document> matched) {
        if (!answering.get()) {
            return matched;
        }
        List<Document> copies = new ArrayList<>(matched.size());
        for (Document document : matched) {
            copies.add(new Document(document));
        }
        return copies;
    }

    /** A find-and-modify's reply with the document it answers with copied (call under the lock). */
    static Document valueCopied(Document reply) {
        if (reply.get("value") instanceof Document value) {
            reply.put("value", new Document(value));
        }
        return reply;
    }
}
