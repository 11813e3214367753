package mentorship.store;

import de.bwaldvogel.mongo.MongoCollection;
import de.bwaldvogel.mongo.backend.IndexKey;
import de.bwaldvogel.mongo.backend.KeyValue;
import de.bwaldvogel.mongo.backend.memory.index.MemoryUniqueIndex;
import de.bwaldvogel.mongo.bson.Document;
import java.util.List;
import java.util.Set;

/**
 * The memory backend's unique index (every collection's _id, and our unique compound indexes),
 * working out a document's key the short way when it can (see {@link IndexPaths}). A write that
 * would break uniqueness, and a sparse index, take the emulator's own path, so its checks and its
 * error (with the key as the client wrote it) are unchanged.
 */
final class FastUniqueIndex extends MemoryUniqueIndex {

    private final IndexPaths paths;
    private final boolean idIndex;

    FastUniqueIndex(String name, List<IndexKey> keys, boolean sparse) {
        super(name, keys, sparse);
        paths = new IndexPaths(keys);
        idIndex = !sparse && keys.size() == 1 && keys.get(0).getKey().equals("_id");
    }

    /** Whether this is a collection's _id index (one key, _id, not sparse). */
    boolean isIdIndex() {
        return idIndex;
    }

    /**
     * The key this index files {@code document} under, the short way, or null when the short way
     * does not apply (see {@link IndexPaths}, which keys values as the emulator does).
     */
    KeyValue shortKey(Document document) {
        Set<KeyValue> keys = paths.of(document);
        return keys == null ? null : keys.iterator().next();
    }

    /** Where the document filed under {@code key} lies, or null. */
    Integer positionOf(KeyValue key) {
        return getPosition(key);
    }

    @Override
    public Set<KeyValue> getKeyValues(Document document) {
        return paths.keysOf(document, super::getKeyValues);
    }

    @Override
    public synchronized void checkAdd(Document document, MongoCollection<Integer> collection) {
        Set<KeyValue> values = isSparse() ? null : paths.of(document);
        if (values == null || values.stream().anyMatch(this::containsKey)) {
            super.checkAdd(document, collection); // raises the emulator's DuplicateKeyError
        }
    }
}
