package mentorship.store;

import de.bwaldvogel.mongo.backend.IndexKey;
import de.bwaldvogel.mongo.backend.KeyValue;
import de.bwaldvogel.mongo.backend.Missing;
import de.bwaldvogel.mongo.bson.Document;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;

/**
 * What an index files a document under, worked out the short way when the document holds no array
 * and no subdocument at the index's paths (every write of ours to an indexed collection): the
 * emulator's own way splits each path with a regular expression and builds several streams per
 * index per document, and an update asks for the old and the new document's keys of every index
 * (a fifth of the store's samples in a flight recording under sessions' writes; done this way, the
 * store's worker threads spent 2.0-2.2 s instead of 2.2-2.6 s on 20,000 records). The paths are
 * split once, here.
 *
 * <p>{@link #of} gives the same key the emulator would give (missing and null as null, numbers as
 * doubles unless a long that a double cannot hold), or null whenever the short way does not apply
 * (an array or a subdocument on a path, a number of another kind): the caller then asks the
 * emulator ({@link #keysOf} does both).
 */
final class IndexPaths {

    private final String[][] paths;

    IndexPaths(List<IndexKey> keys) {
        paths = new String[keys.size()][];
        for (int i = 0; i < paths.length; i++) {
            paths[i] = keys.get(i).getKey().split("\\.");
        }
    }

    /** The document's keys: the short way when it applies, else the emulator's ({@code emulator}). */
    Set<KeyValue> keysOf(Document document, Function<Document, Set<KeyValue>> emulator) {
        Set<KeyValue> values = of(document);
        return values != null ? values : emulator.apply(document);
    }

    /** The document's one key for the index, or null to ask the emulator. */
    Set<KeyValue> of(Document document) {
        List<Object> values = new ArrayList<>(paths.length);
        for (String[] path : paths) {
            Object value = document;
            for (String part : path) {
                if (value instanceof Document parent) {
                    value = parent.getOrMissing(part);
                } else if (value instanceof Collection<?>) {
                    return null; // an array on the way: MongoDB's multikey rules, the emulator's way
                } else {
                    value = null; // a path through a plain value leads nowhere
                    break;
                }
            }
            if (value == null || value instanceof Missing) {
                values.add(null);
            } else if (value instanceof Map<?, ?> || value instanceof Collection<?>) {
                return null;
            } else if (value instanceof Number number) {
                Object normalised = normalised(number);
                if (normalised == null) {
                    return null;
                }
                values.add(normalised);
            } else {
                values.add(value);
            }
        }
        return Set.of(new KeyValue(values));
    }

    /** A number as the emulator compares it in an index, or null for a kind left to it. */
    private static Object normalised(Number number) {
        if (number instanceof Long value && value != (long) value.doubleValue()) {
            return value;
        }
        if (number instanceof Integer || number instanceof Long || number instanceof Double
                || number instanceof Short || number instanceof Byte || number instanceof Float) {
            double value = number.doubleValue();
            return value == 0.0 ? 0.0 : value; // -0.0 files as 0.0
        }
        return null;
    }
}
