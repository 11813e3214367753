package mentorship.store;

import de.bwaldvogel.mongo.MongoCollection;
import de.bwaldvogel.mongo.MongoDatabase;
import de.bwaldvogel.mongo.backend.ArrayFilters;
import de.bwaldvogel.mongo.backend.CollectionOptions;
import de.bwaldvogel.mongo.backend.CursorRegistry;
import de.bwaldvogel.mongo.backend.DatabaseResolver;
import de.bwaldvogel.mongo.backend.Index;
import de.bwaldvogel.mongo.backend.IndexKey;
import de.bwaldvogel.mongo.backend.KeyValue;
import de.bwaldvogel.mongo.backend.QueryResult;
import de.bwaldvogel.mongo.backend.memory.MemoryBackend;
import de.bwaldvogel.mongo.backend.memory.MemoryCollection;
import de.bwaldvogel.mongo.backend.memory.MemoryDatabase;
import de.bwaldvogel.mongo.bson.Document;
import de.bwaldvogel.mongo.oplog.Oplog;
import io.netty.channel.Channel;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.stream.Stream;
import java.util.stream.StreamSupport;

/**
 * The memory backend, with queries that pin an _id looked up by it (see {@link IdLookup}),
 * non-unique indexes that narrow equality queries (see {@link EqualityIndex}), and indexes that
 * work out a written document's keys the short way (see {@link IndexPaths}). An aggregation that
 * starts with a {@code $match} reads what that query finds the same way (MongoDB's planner does
 * the same): the emulator streamed the whole collection through the stage, so a driver's
 * {@code count_documents} (a {@code $match} then a {@code $group}) cost a scan. Finds answer with
 * copies of the documents (see {@link ReadCopies}).
 */
final class IndexedMemoryBackend extends MemoryBackend {

    @Override
    public MemoryDatabase openOrCreateDatabase(String databaseName) {
        return new Database(databaseName, getCursorRegistry());
    }

    @Override
    public Document handleCommand(Channel channel, String databaseName, String command, Document query) {
        return super.handleCommand(channel, databaseName, command, Batches.ofFind(command, query));
    }

    @Override
    protected Document handleGetMore(String databaseName, String command, Document query) {
        return super.handleGetMore(databaseName, command, Batches.withBatchSize(query));
    }

    static final class Database extends MemoryDatabase {
        Database(String databaseName, CursorRegistry cursorRegistry) {
            super(databaseName, cursorRegistry);
        }

        @Override
        public Document handleCommand(
                Channel channel, String command, Document query, DatabaseResolver resolver, Oplog oplog) {
            if (ReadCopies.needed(command, query)
                    && resolveCollection(String.valueOf(query.get(command)), false) instanceof Collection read) {
                return read.reads.answering(() -> super.handleCommand(channel, command, query, resolver, oplog));
            }
            Document match = "aggregate".equalsIgnoreCase(command) ? leadingMatch(query.get("pipeline")) : null;
            MongoCollection<Integer> target =
                    match == null ? null : resolveCollection(String.valueOf(query.get(command)), false);
            if (!(target instanceof Collection collection)) {
                return super.handleCommand(channel, command, query, resolver, oplog);
            }
            collection.nextScan.set(match);
            try {
                return super.handleCommand(channel, command, query, resolver, oplog);
            } finally {
                collection.nextScan.remove();
            }
        }

        /** The query of a pipeline's first stage when it is a {@code $match}; null otherwise. */
        private static Document leadingMatch(Object pipeline) {
            if (!(pipeline instanceof List<?> stages) || stages.isEmpty()
                    || !(stages.get(0) instanceof Document first) || first.size() != 1) {
                return null; // a malformed pipeline gets the emulator's own error
            }
            return first.get("$match") instanceof Document match ? match : null;
        }

        @Override
        protected MemoryCollection openOrCreateCollection(String collectionName, CollectionOptions options) {
            return new Collection(this, collectionName, options, cursorRegistry);
        }

        @Override
        protected Index<Integer> openOrCreateUniqueIndex(
                String collectionName, String indexName, List<IndexKey> keys, boolean sparse) {
            return new FastUniqueIndex(indexName, keys, sparse);
        }

        @Override
        protected Index<Integer> openOrCreateSecondaryIndex(
                String collectionName, String indexName, List<IndexKey> keys, boolean sparse) {
            return new EqualityIndex(indexName, keys);
        }
    }

    static final class Collection extends MemoryCollection {
        // The leading $match of the aggregation this thread runs on the collection (see Database).
        final ThreadLocal<Document> nextScan = new ThreadLocal<>();
        // A client's find answers with copies of the documents (see ReadCopies).
        final ReadCopies reads = new ReadCopies();

        Collection(MongoDatabase database, String name, CollectionOptions options, CursorRegistry cursors) {
            super(database, name, options, cursors);
        }

        /**
         * The emulator keeps a collection's data size (collStats) by encoding every document it
         * inserts or removes to BSON, and both versions of every document it updates: a third of the
         * store's time under a consumer's inserts. Nothing of ours reads it (see servicekit.mongo).
         */
        @Override
        protected boolean tracksDataSize() {
            return false;
        }

        @Override
        protected QueryResult createQueryResult(List<Document> matchedDocuments, int batchSize) {
            return super.createQueryResult(reads.of(matchedDocuments), batchSize);
        }

        @Override
        public synchronized Document findAndModify(Document query) {
            return ReadCopies.valueCopied(super.findAndModify(query));
        }

        @Override
        protected QueryResult queryDocuments(
                Document query, Document orderBy, int skip, int limit, int batchSize, Document fieldSelector) {
            Object id = IdLookup.pinnedId(query);
            if (id == null) {
                EqualityIndex narrowing = EqualityIndex.best(getIndexes(), query);
                if (narrowing == null || uniqueIndexAnswers(query)) {
                    return super.queryDocuments(query, orderBy, skip, limit, batchSize, fieldSelector);
                }
                return matchDocuments(
                        query, narrowing.getPositions(query), orderBy, skip, limit, batchSize, fieldSelector);
            }
            return IdLookup.query(
                    id,
                    query,
                    this::byId,
                    (found, rest) -> matchDocumentsFromStream(found, rest, orderBy, skip, limit, batchSize, fieldSelector));
        }

        /**
         * An aggregation's documents: what its leading {@code $match} finds, when an index narrows
         * it. The stage still matches each of them, so the result is the scan's, in its order; an
         * equality index's documents are not matched here too (a count of most of a collection
         * would cost more than the scan).
         */
        @Override
        public Stream<Document> queryAllAsStream() {
            Document match = nextScan.get();
            nextScan.remove(); // only the aggregation's own read of the collection
            if (match == null) {
                return super.queryAllAsStream();
            }
            if (IdLookup.pinnedId(match) != null || uniqueIndexAnswers(match)) {
                return StreamSupport.stream(queryDocuments(match, null, 0, 0, 0, null).spliterator(), false);
            }
            EqualityIndex narrowing = EqualityIndex.best(getIndexes(), match);
            if (narrowing == null || narrowing.filedUnder(match) * 2 > count()) {
                return super.queryAllAsStream(); // unselective: the scan is cheaper
            }
            return StreamSupport.stream(narrowing.getPositions(match).spliterator(), false)
                    .map(this::getDocument)
                    .filter(Objects::nonNull); // removed meanwhile
        }

        /**
         * The stored documents {@code {_id: value}} finds (a plain value, see {@link IdLookup}):
         * straight from the _id index's map when it can key the value (see
         * {@link FastUniqueIndex#shortKey}), else through the emulator's query. Its query finds
         * the same position after checking each index's fields against the query and building a
         * few streams per lookup: a fifth of the store's samples under matching's offers, whose
         * every conditional write finds its document by _id.
         */
        private List<Document> byId(Object value) {
            Document query = new Document("_id", value);
            for (Index<Integer> index : getIndexes()) {
                if (index instanceof FastUniqueIndex unique && unique.isIdIndex()) {
                    KeyValue key = unique.shortKey(query);
                    if (key == null) {
                        break; // a kind of value the short way leaves to the emulator
                    }
                    Integer position = unique.positionOf(key);
                    Document found = position == null ? null : getDocument(position);
                    return found == null ? List.of() : List.of(found);
                }
            }
            return super.queryDocuments(query, null, 0, 0, 0, null).collectDocuments();
        }

        /** Top-level sets and appends, and upserts of sets by _id, are applied the short way (see {@link TopLevelUpdate}). */
        @Override
        public synchronized Document updateDocuments(
                Document selector, Document update, ArrayFilters arrayFilters, boolean isMulti, boolean isUpsert,
                Oplog oplog) {
            TopLevelUpdate change = TopLevelUpdate.of(update, arrayFilters);
            List<Index<Integer>> indexes = getIndexes();
            if (change == null || indexes.isEmpty()) {
                return super.updateDocuments(selector, update, arrayFilters, isMulti, isUpsert, oplog);
            }
            List<Document> matched = new ArrayList<>();
            for (Document document : queryDocuments(selector, null, 0, 0, 0, null)) {
                if (!change.appliesTo(document)) {
                    return super.updateDocuments(selector, update, arrayFilters, isMulti, isUpsert, oplog);
                }
                matched.add(document);
                if (!isMulti) {
                    break;
                }
            }
            if (matched.isEmpty() && isUpsert) {
                Document inserted = change.upserted(selector);
                if (inserted == null) {
                    return super.updateDocuments(selector, update, arrayFilters, isMulti, isUpsert, oplog);
                }
                addDocument(inserted); // a unique index's error raises here, as on the emulator's path
                oplog.handleInsert(getFullName(), List.of(inserted));
                return new Document("upserted", inserted.get(getIdField())).append("n", 0).append("nModified", 0);
            }
            List<Object> modified = new ArrayList<>();
            for (Document document : matched) {
                if (change.apply(document, positionOf(document), indexes, this, matched.size() > 1)) {
                    modified.add(document.get(getIdField()));
                }
            }
            oplog.handleUpdate(getFullName(), selector, update, modified);
            return new Document("n", matched.size()).append("nModified", modified.size());
        }

        private Integer positionOf(Document document) {
            for (Index<Integer> index : getIndexes()) {
                Integer position = index.getPosition(document);
                if (position != null) {
                    return position;
                }
            }
            return findDocumentPosition(document);
        }

        private boolean uniqueIndexAnswers(Document query) {
            for (Index<Integer> index : getIndexes()) {
                if (index.isUnique() && index.canHandle(query)) {
                    return true;
                }
            }
            return false;
        }
    }
}
