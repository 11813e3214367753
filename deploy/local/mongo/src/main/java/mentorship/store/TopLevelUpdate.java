package mentorship.store;

import de.bwaldvogel.mongo.MongoCollection;
import de.bwaldvogel.mongo.backend.ArrayFilters;
import de.bwaldvogel.mongo.backend.Index;
import de.bwaldvogel.mongo.backend.IndexKey;
import de.bwaldvogel.mongo.bson.Document;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * An update that sets top-level fields and appends to top-level arrays, applied the short way: the
 * outbox relay's clearing write ({@code {$set: {outbox: [], outbox_pending: false}}}), a write
 * that adds events to a document's outbox ({@code $set} beside {@code $push: {outbox: {$each:
 * [...]}}}) and a grouped conditional write (which also pushes its id with {@code $slice}).
 *
 * <p>The emulator applies every update to a deep copy of the whole document, after taking a second
 * deep copy to compare against, then compares the two versions field by field twice (once after
 * converting every number of both to a double, through streams): in a flight recording of the
 * store under sessions and notifications, updates took 61% of its worker thread, most of it there,
 * growing with the size of the document rather than of the change. Replacing top-level values
 * never changes anything inside the old ones (an appended array is a new list), so a shallow copy
 * keeps the old version for the indexes, and only the written fields need comparing.
 *
 * <p>An upsert of such a set by {@code _id} (alone, or with conditions an insert copies nothing
 * from) that matches nothing inserts its document the same short way (the emulator built it by
 * applying the update to the selector, then looked the selector up a second time).
 *
 * <p>Anything else ({@code $inc}, {@code $unset}, paths, {@code $each} with {@code $position} or
 * {@code $sort}, a field written twice, a push onto a value that is not an array or onto null) takes the
 * emulator's own path, errors included. What it answers is what the emulator answers, except one
 * case where it answers as MongoDB does: a field set to an equal number of another type (1 over
 * 1.0) counts as modified, the stored type having changed (the emulator compared them as doubles).
 */
final class TopLevelUpdate {

    private static final String ID = "_id";

    private final Map<String, Object> sets;
    private final Map<String, Push> pushes;

    private record Push(List<?> items, Integer slice) {
    }

    private TopLevelUpdate(Map<String, Object> sets, Map<String, Push> pushes) {
        this.sets = sets;
        this.pushes = pushes;
    }

    /** The update, when it is one this class applies; null for every other update. */
    static TopLevelUpdate of(Document update, ArrayFilters arrayFilters) {
        if (update.isEmpty() || (arrayFilters != null && !arrayFilters.isEmpty())) {
            return null;
        }
        Map<String, Object> sets = new LinkedHashMap<>();
        Map<String, Push> pushes = new LinkedHashMap<>();
        Set<String> written = new HashSet<>();
        for (Map.Entry<String, Object> operator : update.entrySet()) {
            if (!(operator.getValue() instanceof Document fields) || fields.isEmpty()) {
                return null;
            }
            for (Map.Entry<String, Object> field : fields.entrySet()) {
                String key = field.getKey();
                if (!plainField(key) || !written.add(key)) {
                    return null;
                }
                switch (operator.getKey()) {
                    case "$set" -> sets.put(key, field.getValue());
                    case "$push" -> {
                        Push push = pushOf(field.getValue());
                        if (push == null) {
                            return null;
                        }
                        pushes.put(key, push);
                    }
                    default -> {
                        return null;
                    }
                }
            }
        }
        return new TopLevelUpdate(sets, pushes);
    }

    private static boolean plainField(String key) {
        return !key.isEmpty() && !key.equals(ID) && key.indexOf('.') < 0 && !key.startsWith("$");
    }

    /** A value to append, or {@code {$each: [...]}} with at most an integer {@code $slice}. */
    private static Push pushOf(Object value) {
        if (!(value instanceof Document modifiers) || modifiers.isEmpty()
                || !modifiers.keySet().iterator().next().startsWith("$")) {
            return new Push(Collections.singletonList(value), null); // one value (null, a document) as it is
        }
        if (!(modifiers.get("$each") instanceof List<?> items)) {
            return null;
        }
        if (modifiers.size() == 1) {
            return new Push(items, null);
        }
        if (modifiers.size() == 2 && (modifiers.get("$slice") instanceof Integer
                || modifiers.get("$slice") instanceof Long)) {
            long slice = ((Number) modifiers.get("$slice")).longValue();
            return Math.abs(slice) < Integer.MAX_VALUE ? new Push(items, (int) slice) : null;
        }
        return null;
    }

    /** Whether every pushed field of the document is an array or absent (else: the emulator's error). */
    boolean appliesTo(Document document) {
        for (String key : pushes.keySet()) {
            if (document.containsKey(key) && !(document.get(key) instanceof List)) {
                return false; // a null too: the emulator's path decides what a push onto it does
            }
        }
        return true;
    }

    /**
     * Apply the update to the stored {@code document} (at {@code position}), keeping the indexes
     * in step; a write that would break a unique index raises before anything changes. Returns
     * whether the document changed.
     *
     * <p>{@code copies}: whether each document gets copies of the update's values (an update that
     * writes into several documents). One that writes into one document gives it the values
     * themselves: they were decoded from this request and nothing else holds them (the oplog is off),
     * and deep copies of them were a tenth of the store's samples under matching's flood.
     */
    boolean apply(
            Document document, Integer position, List<Index<Integer>> indexes, MongoCollection<Integer> collection,
            boolean copies) {
        // An appended array's old items are shared, never changed in place.
        Map<String, Object> values = new LinkedHashMap<>();
        for (Map.Entry<String, Object> set : sets.entrySet()) {
            values.put(set.getKey(), copies ? copy(set.getValue()) : set.getValue());
        }
        for (Map.Entry<String, Push> push : pushes.entrySet()) {
            values.put(push.getKey(), appended(document.get(push.getKey()), push.getValue(), copies));
        }
        boolean changed = false;
        for (Map.Entry<String, Object> value : values.entrySet()) {
            if (!document.containsKey(value.getKey()) || !Objects.equals(document.get(value.getKey()), value.getValue())) {
                changed = true;
                break;
            }
        }
        if (!changed) {
            return false;
        }
        // Only the indexes on a written field can change (the relay's clearing write touches one
        // of relationships' five): the others keep the document's keys as they are.
        List<Index<Integer>> touched = new ArrayList<>();
        for (Index<Integer> index : indexes) {
            if (indexes(index, values.keySet())) {
                touched.add(index);
            }
        }
        if (!touched.isEmpty()) {
            // The stored document is the old version until the last line: the indexes read it, and
            // keep nothing of it.
            Document updated = indexedFields(document, values, touched);
            for (Index<Integer> index : touched) {
                index.checkUpdate(document, updated, collection);
            }
            for (Index<Integer> index : touched) {
                index.updateInPlace(document, updated, position, collection);
            }
        }
        document.putAll(values);
        return true;
    }

    /**
     * The document an upsert that matched nothing inserts, when this update only sets fields and
     * the selector is {@code {_id: value}} (a due-date entry, a cached embedding), maybe with
     * conditions MongoDB copies nothing from ({@link #copiesNothing}: a profile's embeddings,
     * written unless a newer version is stored): the id, then the set fields, as MongoDB builds it.
     * Null for anything else (the emulator's path). A stored document with that id which the
     * conditions ruled out makes the insert fail on the unique {@code _id}, as on MongoDB.
     */
    Document upserted(Document selector) {
        if (!pushes.isEmpty() || !IdLookup.isPlain(selector.get(ID)) || !copiesNothing(selector)) {
            return null;
        }
        Document document = new Document(ID, selector.get(ID));
        for (Map.Entry<String, Object> set : sets.entrySet()) {
            document.put(set.getKey(), set.getValue()); // one document: the values themselves (see apply)
        }
        return document;
    }

    /**
     * Whether an upsert's insert takes nothing from these conditions besides {@code _id}: MongoDB
     * copies a selector's equalities (also those of an {@code $and}, or of an {@code $or} of one
     * clause), never an {@code $or} of several clauses or a top-level field's comparison by
     * {@code $lt}, {@code $lte}, {@code $gt}, {@code $gte} or {@code $ne}. Anything else: false.
     */
    private static boolean copiesNothing(Document selector) {
        for (Map.Entry<String, Object> condition : selector.entrySet()) {
            String key = condition.getKey();
            if (key.equals(ID)) {
                continue;
            }
            if (key.equals("$or")) {
                if (!(condition.getValue() instanceof List<?> clauses) || clauses.size() < 2) {
                    return false;
                }
                continue;
            }
            if (!plainField(key) || !(condition.getValue() instanceof Document comparison) || comparison.isEmpty()
                    || !COMPARISONS.containsAll(comparison.keySet())) {
                return false;
            }
        }
        return true;
    }

    private static final Set<String> COMPARISONS = Set.of("$lt", "$lte", "$gt", "$gte", "$ne");

    /**
     * The updated document as the touched indexes read it: its _id and the top-level fields their
     * keys start with, as updated (a unique index's checks and every index's keys read nothing
     * else). A whole copy of the stored document (a seat's history and outbox with it) for every
     * write that touches an indexed field was 7% of the store's samples under matching's flood.
     * The whole document when a key names no field (a wildcard): its index reads any.
     */
    private static Document indexedFields(
            Document document, Map<String, Object> values, List<Index<Integer>> touched) {
        Document updated = new Document();
        if (document.containsKey(ID)) {
            updated.put(ID, document.get(ID));
        }
        for (Index<Integer> index : touched) {
            for (IndexKey key : index.getKeys()) {
                String top = topField(key.getKey());
                if (top.isEmpty() || top.startsWith("$")) {
                    Document whole = new Document(document);
                    whole.putAll(values);
                    return whole;
                }
                if (values.containsKey(top)) {
                    updated.put(top, values.get(top));
                } else if (document.containsKey(top)) {
                    updated.put(top, document.get(top));
                }
            }
        }
        return updated;
    }

    private static String topField(String path) {
        int dot = path.indexOf('.');
        return dot < 0 ? path : path.substring(0, dot);
    }

    /** Whether the index files documents under one of these top-level fields (or may: any odd key). */
    private static boolean indexes(Index<Integer> index, Set<String> fields) {
        for (IndexKey key : index.getKeys()) {
            String top = topField(key.getKey());
            if (top.isEmpty() || top.startsWith("$") || fields.contains(top)) {
                return true;
            }
        }
        return false;
    }

    private static Object copy(Object value) {
        return value instanceof Document || value instanceof List ? new Document(ID, value).cloneDeeply().get(ID) : value;
    }

    /** A new list: the current one (or none), the items, then the slice (MongoDB's order). */
    private static List<Object> appended(Object current, Push push, boolean copies) {
        List<Object> list = current == null ? new ArrayList<>() : new ArrayList<>((List<?>) current);
        for (Object item : push.items()) {
            list.add(copies ? copy(item) : item);
        }
        Integer slice = push.slice();
        if (slice != null) {
            int kept = Math.min(Math.abs(slice), list.size());
            list = slice >= 0 ? new ArrayList<>(list.subList(0, kept)) : new ArrayList<>(list.subList(list.size() - kept, list.size()));
        }
        return list;
    }
}
