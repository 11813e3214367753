package mentorship.store;

import de.bwaldvogel.mongo.MongoDatabase;
import de.bwaldvogel.mongo.backend.CollectionOptions;
import de.bwaldvogel.mongo.backend.CursorRegistry;
import de.bwaldvogel.mongo.backend.Index;
import de.bwaldvogel.mongo.backend.IndexKey;
import de.bwaldvogel.mongo.backend.QueryResult;
import de.bwaldvogel.mongo.backend.memory.MemoryBackend;
import de.bwaldvogel.mongo.backend.memory.MemoryCollection;
import de.bwaldvogel.mongo.backend.memory.MemoryDatabase;
import de.bwaldvogel.mongo.bson.Document;
import io.netty.channel.Channel;
import java.util.List;

/**
 * The memory backend, with queries that pin an _id looked up by it (see {@link IdLookup}),
 * non-unique indexes that narrow equality queries (see {@link EqualityIndex}), and indexes that
 * work out a written document's keys the short way (see {@link IndexPaths}).
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
                    byId -> super.queryDocuments(byId, null, 0, 0, 0, null),
                    (found, rest) -> matchDocumentsFromStream(found, rest, orderBy, skip, limit, batchSize, fieldSelector));
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
