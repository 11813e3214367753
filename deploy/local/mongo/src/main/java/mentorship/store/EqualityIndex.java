package mentorship.store;

import de.bwaldvogel.mongo.MongoCollection;
import de.bwaldvogel.mongo.backend.Index;
import de.bwaldvogel.mongo.backend.IndexKey;
import de.bwaldvogel.mongo.backend.KeyValue;
import de.bwaldvogel.mongo.backend.Missing;
import de.bwaldvogel.mongo.bson.Document;
import de.bwaldvogel.mongo.bson.ObjectId;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.UUID;

/**
 * A non-unique index of the memory backend, kept in memory: a query with an equality on every key
 * of the index reads only the documents filed under those values (mongo-java-server ignores
 * non-unique indexes, so such a query scanned the collection, and a service's hot read on a large
 * collection cost as much as the collection).
 *
 * <p>It only narrows: the documents it returns are matched against the whole query, as any
 * candidate of a scan is, so a query it cannot narrow (a range, {@code $in}, an array or
 * subdocument value, null) takes the scan as before. A document with an array under a key is filed
 * under each element (what MongoDB's multikey indexes do), and a document whose keys hold parallel
 * arrays is refused, as MongoDB refuses it. Positions come back in collection order, so a result
 * without a sort is in the order a scan gives.
 */
final class EqualityIndex extends Index<Integer> {

    private static final String ID = "_id";

    private final Map<KeyValue, TreeSet<Integer>> byValues = new HashMap<>();
    private final Map<Object, Integer> positionsById = new HashMap<>();
    // What each filed document is filed under: an update or a removal need not work it out again.
    private final Map<Integer, Set<KeyValue>> valuesByPosition = new HashMap<>();
    // The values the last check worked out, for the write that follows it (a collection checks
    // every index, then writes, under its own lock): each written document is looked at once.
    private Document checked;
    private Set<KeyValue> checkedValues;
    private final IndexPaths paths;

    EqualityIndex(String name, List<IndexKey> keys) {
        // Sparse in the emulator's sense: a document need not be found here for its removal.
        super(name, keys, true);
        paths = new IndexPaths(keys);
    }

    @Override
    public Set<KeyValue> getKeyValues(Document document) {
        return paths.keysOf(document, super::getKeyValues);
    }

    /**
     * The index of {@code candidates} that narrows {@code query} to the fewest documents, or null:
     * what MongoDB's planner finds by trying its candidate plans. The index with the most keys is
     * not always it: {@code {org, role, status}} files every paired mentee of an org together, where
     * {@code {org, pair.mentor_id}} holds a mentor's two.
     */
    static EqualityIndex best(List<? extends Index<Integer>> candidates, Document query) {
        EqualityIndex best = null;
        int fewest = Integer.MAX_VALUE;
        for (Index<Integer> index : candidates) {
            if (index instanceof EqualityIndex equality && equality.canHandle(query)) {
                int filed = equality.filedUnder(query);
                if (filed < fewest) {
                    best = equality;
                    fewest = filed;
                }
            }
        }
        return best;
    }

    /** How many documents are filed under the query's values (the query must be one it handles). */
    synchronized int filedUnder(Document query) {
        int filed = 0;
        for (TreeSet<Integer> positions : bucketsOf(query)) {
            filed += positions.size();
        }
        return filed;
    }

    /**
     * Whether every key of the index has an equality in the query: a plain value, or for one key
     * at most {@code {$in: [plain values]}} (a group's read of several mentors' seats).
     */
    @Override
    public synchronized boolean canHandle(Document query) {
        boolean listed = false;
        for (String key : keys()) {
            Object value = query.get(key);
            if (inList(value) != null && !listed) {
                listed = true;
            } else if (!query.containsKey(key) || !isPlainValue(value)) {
                return false;
            }
        }
        return probe(query) != null;
    }

    /** The values of {@code {$in: [...]}} when they are all plain; null for anything else. */
    private static List<?> inList(Object value) {
        if (!(value instanceof Document condition) || condition.size() != 1
                || !(condition.get("$in") instanceof List<?> values)) {
            return null;
        }
        for (Object element : values) {
            if (!isPlainValue(element)) {
                return null;
            }
        }
        return values;
    }

    /** The buckets the query's values are filed under: one, or one per value of its {@code $in}. */
    private List<TreeSet<Integer>> bucketsOf(Document query) {
        List<Document> probes = new ArrayList<>();
        String listedKey = null;
        for (String key : keys()) {
            if (inList(query.get(key)) != null) {
                listedKey = key;
            }
        }
        if (listedKey == null) {
            probes.add(probe(query));
        } else {
            for (Object value : new LinkedHashSet<>(inList(query.get(listedKey)))) {
                Document one = new Document(query);
                one.put(listedKey, value);
                probes.add(probe(one));
            }
        }
        List<TreeSet<Integer>> buckets = new ArrayList<>();
        for (Document probe : probes) {
            // Plain values: a probe files under exactly one key.
            TreeSet<Integer> positions = byValues.get(getKeyValues(probe).iterator().next());
            if (positions != null) {
                buckets.add(positions);
            }
        }
        return buckets;
    }

    /**
     * The query's values as a document holds them ({@code "a.b": v} as {@code {a: {b: v}}}), so
     * they are filed as a document's are (the emulator's value normalisation is not public);
     * null if the keys overlap (one a prefix of another). A key's {@code $in} stands in as itself
     * (only the shape is checked with it).
     */
    private Document probe(Document query) {
        Document probe = new Document();
        for (String key : keys()) {
            String[] parts = key.split("\\.");
            Document parent = probe;
            for (int i = 0; i < parts.length - 1; i++) {
                Object child = parent.computeIfAbsent(parts[i], ignored -> new Document());
                if (!(child instanceof Document)) {
                    return null;
                }
                parent = (Document) child;
            }
            if (parent.containsKey(parts[parts.length - 1])) {
                return null;
            }
            parent.put(parts[parts.length - 1], query.get(key));
        }
        return probe;
    }

    private static boolean isPlainValue(Object value) {
        return value instanceof String || value instanceof Number || value instanceof Boolean
                || value instanceof Instant || value instanceof Date || value instanceof ObjectId
                || value instanceof UUID;
    }

    @Override
    public synchronized Iterable<Integer> getPositions(Document query) {
        List<TreeSet<Integer>> buckets = bucketsOf(query);
        if (buckets.size() == 1) {
            return new ArrayList<>(buckets.get(0));
        }
        TreeSet<Integer> union = new TreeSet<>(); // in collection order, each document once
        for (TreeSet<Integer> positions : buckets) {
            union.addAll(positions);
        }
        return new ArrayList<>(union);
    }

    @Override
    public synchronized Integer getPosition(Document document) {
        return positionsById.get(idOf(document));
    }

    @Override
    public synchronized void checkAdd(Document document, MongoCollection<Integer> collection) {
        remember(document); // refuses parallel arrays before anything is written
    }

    @Override
    public synchronized void add(Document document, Integer position, MongoCollection<Integer> collection) {
        Set<KeyValue> values = valuesOf(document);
        file(values, position);
        valuesByPosition.put(position, values);
        positionsById.put(idOf(document), position);
    }

    @Override
    public synchronized Integer remove(Document document) {
        Integer position = positionsById.remove(idOf(document));
        if (position != null) {
            Set<KeyValue> values = valuesByPosition.remove(position);
            unfile(values != null ? values : getKeyValues(document), position);
        }
        return position;
    }

    @Override
    public synchronized void checkUpdate(
            Document oldDocument, Document newDocument, MongoCollection<Integer> collection) {
        remember(newDocument);
    }

    @Override
    public synchronized void updateInPlace(
            Document oldDocument, Document newDocument, Integer position, MongoCollection<Integer> collection) {
        Set<KeyValue> before = valuesByPosition.get(position);
        if (before == null) {
            before = getKeyValues(oldDocument);
        }
        Set<KeyValue> after = valuesOf(newDocument);
        if (!before.equals(after)) {
            unfile(before, position);
            file(after, position);
        }
        valuesByPosition.put(position, after);
    }

    private void remember(Document document) {
        checkedValues = getKeyValues(document);
        checked = document;
    }

    /** The document's values: the last check's when it looked at this very document. */
    private Set<KeyValue> valuesOf(Document document) {
        Set<KeyValue> values = document == checked ? checkedValues : getKeyValues(document);
        checked = null;
        checkedValues = null;
        return values;
    }

    private void file(Set<KeyValue> values, Integer position) {
        for (KeyValue value : values) {
            if (asked(value)) {
                byValues.computeIfAbsent(value, ignored -> new TreeSet<>()).add(position);
            }
        }
    }

    private void unfile(Set<KeyValue> values, Integer position) {
        for (KeyValue value : values) {
            if (!asked(value)) {
                continue;
            }
            TreeSet<Integer> positions = byValues.get(value);
            if (positions != null && positions.remove(position) && positions.isEmpty()) {
                byValues.remove(value);
            }
        }
    }

    /**
     * Whether a query this index narrows can ask for the key: not one with a null or missing part
     * (null is not a plain value, see {@link #canHandle}). Such keys are not filed: they were the
     * largest buckets (every mentee seat without a hold or a pair, under six of matching's candidate
     * indexes), and each insert and status change paid for their sorted sets.
     */
    private static boolean asked(KeyValue value) {
        for (Object part : value) {
            if (Missing.isNullOrMissing(part)) {
                return false;
            }
        }
        return true;
    }

    private static Object idOf(Document document) {
        return document.get(ID);
    }

    @Override
    public synchronized long getCount() {
        return positionsById.size();
    }

    @Override
    public long getDataSize() {
        return 0;
    }

    @Override
    public synchronized void drop() {
        byValues.clear();
        positionsById.clear();
        valuesByPosition.clear();
        checked = null;
        checkedValues = null;
    }
}
