package mentorship.store;

import de.bwaldvogel.mongo.backend.QueryResult;
import de.bwaldvogel.mongo.bson.Document;
import de.bwaldvogel.mongo.bson.ObjectId;
import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.function.BiFunction;
import java.util.function.Function;
import java.util.stream.Stream;

/**
 * mongo-java-server looks a query up in an index only when the query names exactly that index's
 * fields: {@code {_id: X}} finds the document at once, but {@code {_id: X, version: 3}} (every
 * conditional write of ours) scans the whole collection, about 3 ms per write at 20,000 documents.
 * MongoDB uses the _id index for both. This finds the document by its _id first and then matches
 * the rest of the query against it, which gives the same answer: a query's top-level {@code _id}
 * condition must hold for any document it returns. The same for {@code {_id: {$in: [...]}, ...}}
 * (the outbox relay's and the consumers' reads of the documents they were told about): each value
 * is looked up on its own, and only the rest of the query is matched. The emulator itself matched
 * every document the index found against the whole {@code $in} list, value by value: a consumer's
 * read of a batch's 500 documents cost 500 x 500 comparisons (43 ms; 2,000 ids: 190 ms).
 */
final class IdLookup {

    private IdLookup() {
    }

    /**
     * What a query asks of _id when the _id index can answer it: a value (a string, number or
     * ObjectId) or {@code {$in: [values]}}; null otherwise.
     */
    static Object pinnedId(Document query) {
        if (query == null) {
            return null;
        }
        Object id = query.get("_id");
        if (isPlain(id)) {
            return query.size() < 2 ? null : id; // {_id: X} alone already uses the index
        }
        if (id instanceof Document in && in.size() == 1 && in.get("$in") instanceof Collection<?> values
                && values.stream().allMatch(IdLookup::isPlain)) {
            return id;
        }
        return null;
    }

    static boolean isPlain(Object value) {
        return value instanceof String || value instanceof Number || value instanceof ObjectId;
    }

    /** One key for the values MongoDB takes as the same _id (1, 1L and 1.0 are one number). */
    private static Object sameKey(Object value) {
        if (value instanceof Integer || value instanceof Long || value instanceof Short || value instanceof Byte) {
            return new BigDecimal(((Number) value).longValue()).stripTrailingZeros();
        }
        if (value instanceof Double || value instanceof Float) {
            double number = ((Number) value).doubleValue();
            return Double.isFinite(number) ? new BigDecimal(number).stripTrailingZeros() : number;
        }
        if (value instanceof Number number) {
            return new BigDecimal(number.toString()).stripTrailingZeros();
        }
        return value;
    }

    /**
     * Whether every condition is a top-level field equal to a string, a whole number or a boolean
     * (a conditional write's {@code {version: 3}}): decided without the emulator's matcher, which
     * normalises and compares values through several layers for each (a twentieth of the store's
     * samples under matching's flood, nearly all of it for such writes).
     */
    private static boolean plainEqualities(Document rest) {
        if (rest.isEmpty()) {
            return false;
        }
        for (var condition : rest.entrySet()) {
            String key = condition.getKey();
            Object value = condition.getValue();
            if (key.isEmpty() || key.startsWith("$") || key.indexOf('.') >= 0
                    || !(value instanceof String || value instanceof Integer || value instanceof Long
                            || value instanceof Boolean)) {
                return false;
            }
        }
        return true;
    }

    /**
     * Whether the document holds each field at the value given; null when that is not decided by
     * equality of two values of one type (a field missing, a number of another type, an array):
     * the emulator's matcher decides those.
     */
    private static Boolean equalsAll(Document document, Document rest) {
        boolean all = true;
        for (var condition : rest.entrySet()) {
            Object stored = document.get(condition.getKey());
            Object wanted = condition.getValue();
            if (stored == null || stored.getClass() != wanted.getClass()) {
                return null;
            }
            all &= stored.equals(wanted);
        }
        return all;
    }

    /**
     * {@code byId} gives the stored documents the query {_id: value} finds (the index lookup);
     * {@code matchAll} matches a query (the whole one, or what is left of it beside a {@code $in}
     * the lookups answered), with the order, skip, limit and projection, over a stream.
     */
    static QueryResult query(
            Object id,
            Document query,
            Function<Object, List<Document>> byId,
            BiFunction<Stream<Document>, Document, QueryResult> matchAll) {
        if (!(id instanceof Document in)) {
            Document rest = new Document(query);
            rest.remove("_id"); // held by the lookup, as below
            List<Document> found = byId.apply(id);
            if (plainEqualities(rest)) {
                List<Document> kept = new ArrayList<>(found.size());
                for (Document document : found) {
                    Boolean matches = equalsAll(document, rest);
                    if (matches == null) {
                        return matchAll.apply(found.stream(), rest); // a value of another type, a list
                    }
                    if (matches) {
                        kept.add(document);
                    }
                }
                return matchAll.apply(kept.stream(), new Document());
            }
            return matchAll.apply(found.stream(), rest);
        }
        List<Document> found = new ArrayList<>();
        Set<Object> looked = new HashSet<>();
        for (Object value : (Collection<?>) in.get("$in")) {
            if (looked.add(sameKey(value))) {
                found.addAll(byId.apply(value));
            }
        }
        Document rest = new Document(query);
        rest.remove("_id");
        return matchAll.apply(found.stream(), rest);
    }
}
