package mentorship.store;

import de.bwaldvogel.mongo.backend.QueryResult;
import de.bwaldvogel.mongo.bson.Document;
import de.bwaldvogel.mongo.bson.ObjectId;
import java.util.Collection;
import java.util.List;
import java.util.function.Function;
import java.util.stream.Stream;

/**
 * mongo-java-server looks a query up in an index only when the query names exactly that index's
 * fields: {@code {_id: X}} finds the document at once, but {@code {_id: X, version: 3}} (every
 * conditional write of ours) scans the whole collection, about 3 ms per write at 20,000 documents.
 * MongoDB uses the _id index for both. This finds the document by its _id first and then matches
 * the rest of the query against it, which gives the same answer: a query's top-level {@code _id}
 * condition must hold for any document it returns. The same for {@code {_id: {$in: [...]}, ...}}
 * (the outbox relay's and the consumers' reads of the documents they were told about).
 */
final class IdLookup {

    private IdLookup() {
    }

    /**
     * What a query asks of _id when the _id index can answer it: a value (a string, number or
     * ObjectId) or {@code {$in: [values]}}; null otherwise.
     */
    static Object pinnedId(Document query) {
        if (query == null || query.size() < 2) {
            return null; // {_id: ...} alone already uses the index
        }
        Object id = query.get("_id");
        if (isPlain(id)) {
            return id;
        }
        if (id instanceof Document in && in.size() == 1 && in.get("$in") instanceof Collection<?> values
                && values.stream().allMatch(IdLookup::isPlain)) {
            return id;
        }
        return null;
    }

    private static boolean isPlain(Object value) {
        return value instanceof String || value instanceof Number || value instanceof ObjectId;
    }

    /**
     * {@code byId} runs the query {_id: id} (the index lookup, returning the stored documents);
     * {@code matchAll} matches the whole query, order, skip, limit and projection over a stream.
     */
    static QueryResult query(
            Object id, Function<Document, QueryResult> byId, Function<Stream<Document>, QueryResult> matchAll) {
        List<Document> found = byId.apply(new Document("_id", id)).collectDocuments();
        return matchAll.apply(found.stream());
    }
}
