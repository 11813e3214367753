package mentorship.store;

import de.bwaldvogel.mongo.MongoCollection;
import de.bwaldvogel.mongo.backend.ArrayFilters;
import de.bwaldvogel.mongo.backend.Index;
import de.bwaldvogel.mongo.bson.Document;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * An update that only sets top-level fields ({@code {$set: {outbox: [], outbox_pending: false}}},
 * the outbox relay's clearing write, one per relayed document), applied the short way.
 *
 * <p>The emulator applies every update to a deep copy of the whole document, after taking a second
 * deep copy to compare against, then compares the two versions field by field twice (once after
 * converting every number of both to a double, through streams): two thirds of the store's time
 * under a sessions or notifications consumer, growing with the size of the document rather than of
 * the change. Replacing top-level values never changes anything inside the old ones, so a shallow
 * copy keeps the old version for the indexes, and only the set fields need comparing.
 *
 * <p>What it answers is what the emulator answers, except one case where it now answers as MongoDB
 * does: a field set to an equal number of another type (1 over 1.0) counts as modified, the stored
 * type having changed (the emulator compared them as doubles).
 */
final class TopLevelSet {

    private static final String ID = "_id";

    private TopLevelSet() {
    }

    /**
     * The fields the update sets, when it is a {@code $set} of top-level fields alone (not _id, no
     * path, no operator, no array filter); null for every other update, which takes the emulator's
     * own path.
     */
    static Document fieldsOf(Document update, ArrayFilters arrayFilters) {
        if (update.size() != 1 || !(update.get("$set") instanceof Document fields) || fields.isEmpty()
                || (arrayFilters != null && !arrayFilters.isEmpty())) {
            return null;
        }
        for (String key : fields.keySet()) {
            if (key.isEmpty() || key.equals(ID) || key.indexOf('.') >= 0 || key.startsWith("$")) {
                return null;
            }
        }
        return fields;
    }

    /**
     * Set {@code fields} in the stored {@code document} (at {@code position}), keeping the indexes in
     * step; a write that would break a unique index raises before anything changes. Returns whether
     * the document changed.
     */
    static boolean apply(
            Document document, Document fields, Integer position, List<Index<Integer>> indexes,
            MongoCollection<Integer> collection) {
        boolean changed = false;
        for (Map.Entry<String, Object> field : fields.entrySet()) {
            if (!document.containsKey(field.getKey())
                    || !Objects.equals(document.get(field.getKey()), field.getValue())) {
                changed = true;
                break;
            }
        }
        if (!changed) {
            return false;
        }
        Document old = new Document(document);
        Document updated = new Document(document);
        for (Map.Entry<String, Object> field : fields.entrySet()) {
            // A copy for each document: one update may set the same value in several.
            updated.put(field.getKey(), new Document(field.getKey(), field.getValue()).cloneDeeply().get(field.getKey()));
        }
        for (Index<Integer> index : indexes) {
            index.checkUpdate(old, updated, collection);
        }
        for (Index<Integer> index : indexes) {
            index.updateInPlace(old, updated, position, collection);
        }
        for (String key : fields.keySet()) {
            document.put(key, updated.get(key));
        }
        return true;
    }
}
