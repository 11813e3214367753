package mentorship.store;

import de.bwaldvogel.mongo.MongoCollection;
import de.bwaldvogel.mongo.MongoDatabase;
import de.bwaldvogel.mongo.backend.CollectionOptions;
import de.bwaldvogel.mongo.backend.CursorRegistry;
import de.bwaldvogel.mongo.backend.DatabaseResolver;
import de.bwaldvogel.mongo.backend.QueryResult;
import de.bwaldvogel.mongo.backend.h2.H2Backend;
import de.bwaldvogel.mongo.backend.h2.H2Collection;
import de.bwaldvogel.mongo.backend.h2.H2Database;
import de.bwaldvogel.mongo.bson.Document;
import de.bwaldvogel.mongo.oplog.Oplog;
import io.netty.channel.Channel;
import java.util.List;
import org.h2.mvstore.MVMap;
import org.h2.mvstore.MVStore;

/**
 * The H2 file backend, with queries that pin an _id looked up by it (see {@link IdLookup}), and
 * finds that answer with copies of the documents (see {@link ReadCopies}).
 */
class IndexedH2Backend extends H2Backend {

    IndexedH2Backend(MVStore mvStore) {
        super(mvStore);
    }

    @Override
    protected MongoDatabase openOrCreateDatabase(String databaseName) {
        return new Database(databaseName, getMvStore(), getCursorRegistry());
    }

    @Override
    public Document handleCommand(Channel channel, String databaseName, String command, Document query) {
        return super.handleCommand(channel, databaseName, command, Batches.ofFind(command, query));
    }

    @Override
    protected Document handleGetMore(String databaseName, String command, Document query) {
        return super.handleGetMore(databaseName, command, Batches.withBatchSize(query));
    }

    static final class Database extends H2Database {
        // The parent's map names (package-private there).
        private static final String DATA_PREFIX = "databases.";
        private static final String META_PREFIX = "meta.";
        // Collections are opened from the parent's constructor, before a field of ours is set.
        private static MVStore store;

        Database(String databaseName, MVStore mvStore, CursorRegistry cursorRegistry) {
            super(databaseName, remember(mvStore), cursorRegistry);
        }

        private static MVStore remember(MVStore mvStore) {
            store = mvStore;
            return mvStore;
        }

        /** A client's find answers with copies (see {@link ReadCopies}). */
        @Override
        public Document handleCommand(
                Channel channel, String command, Document query, DatabaseResolver resolver, Oplog oplog) {
            if (ReadCopies.needed(command, query)
                    && resolveCollection(String.valueOf(query.get(command)), false) instanceof Collection read) {
                return read.reads.answering(() -> super.handleCommand(channel, command, query, resolver, oplog));
            }
            return super.handleCommand(channel, command, query, resolver, oplog);
        }

        @Override
        protected MongoCollection<Object> openOrCreateCollection(String collectionName, CollectionOptions options) {
            String fullName = getFullCollectionNamespace(collectionName);
            MVMap<Object, Document> dataMap = store.openMap(DATA_PREFIX + fullName);
            MVMap<String, Object> metaMap = store.openMap(META_PREFIX + fullName);
            return new Collection(this, collectionName, options, dataMap, metaMap, cursorRegistry);
        }
    }

    static final class Collection extends H2Collection {
        // A client's find answers with copies of the documents (see ReadCopies).
        final ReadCopies reads = new ReadCopies();

        Collection(MongoDatabase database, String name, CollectionOptions options,
                   MVMap<Object, Document> dataMap, MVMap<String, Object> metaMap, CursorRegistry cursors) {
            super(database, name, options, dataMap, metaMap, cursors);
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
                return super.queryDocuments(query, orderBy, skip, limit, batchSize, fieldSelector);
            }
            return IdLookup.query(
                    id,
                    query,
                    value -> super.queryDocuments(new Document("_id", value), null, 0, 0, 0, null).collectDocuments(),
                    (found, rest) -> matchDocumentsFromStream(found, rest, orderBy, skip, limit, batchSize, fieldSelector));
        }
    }
}
