// Golden wire vectors for zksync's jute codec, produced by ZooKeeper's own Java record classes.
//
// Run through regen.sh (it compiles this file against Debian's libzookeeper-java and writes
// vectors.txt). Output: one `name hex` line per vector, in a fixed order; lines starting with `#`
// are comments. Every value below is a fixed constant, so the output is deterministic; the Rust
// test (proto-tests/golden.rs) builds the same values and must produce the same bytes.
//
// Values are chosen so that field swaps, byte-order and width mistakes show up: every long has
// eight distinct bytes, ints differ from each other, data buffers contain bytes >= 0x80, and one
// path is non-ASCII UTF-8.
//
// Byte layouts follow the reference client and server exactly:
// - ConnectRequest/ConnectResponse: the record, then one extra bool (readOnly), as ClientCnxn and
//   ZooKeeperServer write it (not part of the jute record in 3.8).
// - frames: 4-byte big-endian length, then [RequestHeader], then the record, as ClientCnxn's
//   Packet.createBB writes them.
// - multi: org.apache.zookeeper.MultiOperationRecord / MultiResponse serialize themselves.

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import org.apache.jute.BinaryOutputArchive;
import org.apache.jute.Record;
import org.apache.zookeeper.AddWatchMode;
import org.apache.zookeeper.CreateMode;
import org.apache.zookeeper.KeeperException.Code;
import org.apache.zookeeper.MultiOperationRecord;
import org.apache.zookeeper.MultiResponse;
import org.apache.zookeeper.Op;
import org.apache.zookeeper.OpResult;
import org.apache.zookeeper.Watcher.Event.EventType;
import org.apache.zookeeper.Watcher.Event.KeeperState;
import org.apache.zookeeper.Watcher.WatcherType;
import org.apache.zookeeper.ZooDefs.OpCode;
import org.apache.zookeeper.ZooDefs.Perms;
import org.apache.zookeeper.data.ACL;
import org.apache.zookeeper.data.ClientInfo;
import org.apache.zookeeper.data.Id;
import org.apache.zookeeper.data.Stat;
import org.apache.zookeeper.proto.*;

public class GenVectors {
    interface Body {
        void write(BinaryOutputArchive oa) throws IOException;
    }

    private static final Set<String> names = new HashSet<>();

    static String hex(byte[] b) {
        StringBuilder sb = new StringBuilder();
        for (byte x : b) sb.append(String.format("%02x", x & 0xff));
        return sb.toString();
    }

    static byte[] bytes(Body body) throws IOException {
        ByteArrayOutputStream bos = new ByteArrayOutputStream();
        body.write(BinaryOutputArchive.getArchive(bos));
        return bos.toByteArray();
    }

    static void emit(String name, Body body) throws IOException {
        if (!names.add(name)) throw new IllegalStateException("duplicate vector " + name);
        byte[] b = bytes(body);
        System.out.println(name + " " + (b.length == 0 ? "-" : hex(b)));
    }

    static void record(String name, Record r) throws IOException {
        emit(name, oa -> r.serialize(oa, "r"));
    }

    /** A frame as ClientCnxn's Packet.createBB builds it: length, header (if any), record (if any). */
    static void frame(String name, RequestHeader h, Record r) throws IOException {
        byte[] payload = bytes(oa -> {
            if (h != null) h.serialize(oa, "header");
            if (r != null) r.serialize(oa, "request");
        });
        emit(name, oa -> {
            oa.writeInt(payload.length, "len");
            for (byte x : payload) oa.writeByte(x, "b");
        });
    }

    static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    static byte[] range(int from, int n) {
        byte[] b = new byte[n];
        for (int i = 0; i < n; i++) b[i] = (byte) (from + i);
        return b;
    }

    // ---- shared fixed values (mirrored in proto-tests/golden.rs) --------------------------------
    static Stat stat() {
        return new Stat(
                0x0000000100000002L, // czxid
                0x0000000100000003L, // mzxid
                1700000000123L, // ctime
                1700000000456L, // mtime
                7, // version
                2, // cversion
                1, // aversion
                0x0123456789abcdefL, // ephemeralOwner
                5, // dataLength
                2, // numChildren
                0x0000000100000004L); // pzxid
    }

    static List<ACL> openAcl() {
        return Collections.singletonList(new ACL(31, new Id("world", "anyone")));
    }

    static List<ACL> mixedAcl() {
        return Arrays.asList(
                new ACL(1, new Id("digest", "alice:X/8Up0ux/2i0/o9rD5vwmhEdLyI=")),
                new ACL(31, new Id("auth", "")),
                new ACL(3, new Id("ip", "127.0.0.1")));
    }

    static final String LOCK = "/app/lock/_c_0123456789abcdef0123456789abcdef-write-";
    static final byte[] HELLO = utf8("hello");
    // A DIGEST-MD5 challenge as ZooKeeper's server sends it, and the start of a client response.
    static final String SASL_CHALLENGE =
            "realm=\"zk-sasl-md5\",nonce=\"n0nce\",qop=\"auth\",charset=utf-8,algorithm=md5-sess";
    static final String SASL_RESPONSE = "charset=utf-8,username=\"alice\",realm=\"zk-sasl-md5\"";
    static final byte[] BINARY = {0x00, (byte) 0xff, (byte) 0x80, 0x7f, 0x0a};

    /** A sequence of jute ints: how constants are checked against the Java definitions. */
    static void ints(String name, int... values) throws IOException {
        emit(name, oa -> {
            for (int v : values) oa.writeInt(v, "i");
        });
    }

    public static void main(String[] args) throws IOException {
        // ---- constants, as jute int sequences, in the order of zksync's Rust enums/consts ---------
        ints("op_codes", OpCode.notification, OpCode.create, OpCode.delete, OpCode.exists,
                OpCode.getData, OpCode.setData, OpCode.getACL, OpCode.setACL, OpCode.getChildren,
                OpCode.sync, OpCode.ping, OpCode.getChildren2, OpCode.check, OpCode.multi,
                OpCode.create2, OpCode.reconfig, OpCode.checkWatches, OpCode.removeWatches,
                OpCode.createContainer, OpCode.deleteContainer, OpCode.createTTL, OpCode.multiRead,
                OpCode.auth, OpCode.setWatches, OpCode.sasl, OpCode.getEphemerals,
                OpCode.getAllChildrenNumber, OpCode.setWatches2, OpCode.addWatch, OpCode.whoAmI,
                OpCode.createSession, OpCode.closeSession, OpCode.error);
        ints("error_codes", Code.OK.intValue(), Code.SYSTEMERROR.intValue(),
                Code.RUNTIMEINCONSISTENCY.intValue(), Code.DATAINCONSISTENCY.intValue(),
                Code.CONNECTIONLOSS.intValue(), Code.MARSHALLINGERROR.intValue(),
                Code.UNIMPLEMENTED.intValue(), Code.OPERATIONTIMEOUT.intValue(),
                Code.BADARGUMENTS.intValue(), Code.UNKNOWNSESSION.intValue(),
                Code.NEWCONFIGNOQUORUM.intValue(), Code.RECONFIGINPROGRESS.intValue(),
                Code.APIERROR.intValue(), Code.NONODE.intValue(), Code.NOAUTH.intValue(),
                Code.BADVERSION.intValue(), Code.NOCHILDRENFOREPHEMERALS.intValue(),
                Code.NODEEXISTS.intValue(), Code.NOTEMPTY.intValue(), Code.SESSIONEXPIRED.intValue(),
                Code.INVALIDCALLBACK.intValue(), Code.INVALIDACL.intValue(),
                Code.AUTHFAILED.intValue(), Code.SESSIONMOVED.intValue(), Code.NOTREADONLY.intValue(),
                Code.EPHEMERALONLOCALSESSION.intValue(), Code.NOWATCHER.intValue(),
                Code.REQUESTTIMEOUT.intValue(), Code.RECONFIGDISABLED.intValue(),
                Code.SESSIONCLOSEDREQUIRESASLAUTH.intValue(), Code.QUOTAEXCEEDED.intValue(),
                Code.THROTTLEDOP.intValue());
        ints("create_modes", CreateMode.PERSISTENT.toFlag(), CreateMode.EPHEMERAL.toFlag(),
                CreateMode.PERSISTENT_SEQUENTIAL.toFlag(), CreateMode.EPHEMERAL_SEQUENTIAL.toFlag(),
                CreateMode.CONTAINER.toFlag(), CreateMode.PERSISTENT_WITH_TTL.toFlag(),
                CreateMode.PERSISTENT_SEQUENTIAL_WITH_TTL.toFlag());
        ints("perms", Perms.READ, Perms.WRITE, Perms.CREATE, Perms.DELETE, Perms.ADMIN, Perms.ALL);
        ints("watcher_event_types", EventType.None.getIntValue(), EventType.NodeCreated.getIntValue(),
                EventType.NodeDeleted.getIntValue(), EventType.NodeDataChanged.getIntValue(),
                EventType.NodeChildrenChanged.getIntValue(), EventType.DataWatchRemoved.getIntValue(),
                EventType.ChildWatchRemoved.getIntValue(),
                EventType.PersistentWatchRemoved.getIntValue());
        ints("keeper_states", KeeperState.Disconnected.getIntValue(),
                KeeperState.SyncConnected.getIntValue(), KeeperState.AuthFailed.getIntValue(),
                KeeperState.ConnectedReadOnly.getIntValue(), KeeperState.Closed.getIntValue(),
                KeeperState.Expired.getIntValue());
        ints("add_watch_modes", AddWatchMode.PERSISTENT.getMode(),
                AddWatchMode.PERSISTENT_RECURSIVE.getMode());
        ints("watcher_types", WatcherType.Children.getIntValue(), WatcherType.Data.getIntValue(),
                WatcherType.Any.getIntValue());

        // ---- jute primitives ----------------------------------------------------------------
        emit("bool_true", oa -> oa.writeBool(true, "b"));
        emit("bool_false", oa -> oa.writeBool(false, "b"));
        emit("int_min", oa -> oa.writeInt(Integer.MIN_VALUE, "i"));
        emit("int_minus_two", oa -> oa.writeInt(-2, "i"));
        emit("long_value", oa -> oa.writeLong(0x0102030405060708L, "l"));
        emit("long_min", oa -> oa.writeLong(Long.MIN_VALUE, "l"));
        emit("buffer_null", oa -> oa.writeBuffer(null, "b"));
        emit("buffer_empty", oa -> oa.writeBuffer(new byte[0], "b"));
        emit("buffer_binary", oa -> oa.writeBuffer(BINARY, "b"));
        emit("string_null", oa -> oa.writeString(null, "s"));
        emit("string_empty", oa -> oa.writeString("", "s"));
        emit("string_utf8", oa -> oa.writeString("/ünï/cødé/€", "s")); // 2- and 3-byte sequences
        // Java jute quirk: writeString encodes each UTF-16 unit on its own, so a character outside
        // the BMP (U+1D11E here) comes out as two 3-byte surrogate encodings (CESU-8, 6 bytes),
        // not as 4-byte UTF-8. That is not valid UTF-8; the Rust codec rejects it on decode and
        // writes standard UTF-8. The server refuses such characters in paths (BADARGUMENTS, seen
        // on 3.8.0), so it can only appear in ACL ids, auth schemes and the like.
        emit("string_supplementary_cesu8", oa -> oa.writeString("/\uD834\uDD1E", "s"));
        // A null vector, as GetChildrenResponse writes a null list.
        record("vector_null", new GetChildrenResponse(null));

        // ---- handshake ------------------------------------------------------------------------
        emit("connect_request", oa -> {
            new ConnectRequest(0, 0x0102030405060708L, 30000, 0x1122334455667788L, range(0, 16))
                    .serialize(oa, "connect");
            oa.writeBool(true, "readOnly");
        });
        emit("connect_request_new_session", oa -> {
            new ConnectRequest(0, 0L, 10000, 0L, new byte[16]).serialize(oa, "connect");
            oa.writeBool(false, "readOnly");
        });
        {
            // Framed as ClientCnxn sends it: length, record, readOnly; no request header.
            byte[] payload = bytes(oa -> {
                new ConnectRequest(0, 0x0102030405060708L, 30000, 0x1122334455667788L, range(0, 16))
                        .serialize(oa, "connect");
                oa.writeBool(true, "readOnly");
            });
            emit("connect_request_frame", oa -> {
                oa.writeInt(payload.length, "len");
                for (byte x : payload) oa.writeByte(x, "b");
            });
        }
        emit("connect_response", oa -> {
            new ConnectResponse(0, 4000, 0x1122334455667788L, range(0xf0, 16)).serialize(oa, "connect");
            oa.writeBool(false, "readOnly");
        });
        emit("connect_response_read_only", oa -> {
            new ConnectResponse(0, 4000, 0x1122334455667788L, range(0xf0, 16)).serialize(oa, "connect");
            oa.writeBool(true, "readOnly");
        });
        // An old server that does not append the readOnly byte: decoders must read it as false.
        record("connect_response_without_read_only",
                new ConnectResponse(0, 4000, 0x1122334455667788L, range(0xf0, 16)));
        // The server's answer for an expired/unknown session: timeout 0, session 0, zero passwd.
        emit("connect_response_expired", oa -> {
            new ConnectResponse(0, 0, 0L, new byte[16]).serialize(oa, "connect");
            oa.writeBool(false, "readOnly");
        });
        // A bare 16-byte reply header instead of a ConnectResponse (err -119 NOTREADONLY).
        record("connect_reply_rejected", new ReplyHeader(0, 0L, -119));

        // ---- headers ----------------------------------------------------------------------------
        record("request_header", new RequestHeader(0x01020304, 4));
        record("request_header_ping", new RequestHeader(-2, 11));
        record("reply_header", new ReplyHeader(7, 0x0000000100000005L, 0));
        record("reply_header_error", new ReplyHeader(8, 0x0000000100000006L, -101));
        record("reply_header_notification", new ReplyHeader(-1, -1L, 0));

        // ---- data records -------------------------------------------------------------------------
        record("stat", stat());
        record("id", new Id("digest", "alice:X/8Up0ux/2i0/o9rD5vwmhEdLyI="));
        record("acl", new ACL(31, new Id("world", "anyone")));

        // ---- create / delete / exists / data ------------------------------------------------------
        record("create_request", new CreateRequest(LOCK, HELLO, openAcl(), 3));
        record("create_request_mixed_acl", new CreateRequest("/app/node", BINARY, mixedAcl(), 0));
        record("create_request_null_data", new CreateRequest("/app/empty", null, openAcl(), 0));
        record("create_ttl_request", new CreateTTLRequest("/app/ttl", HELLO, openAcl(), 5, 3600000L));
        record("create_response", new CreateResponse(LOCK + "0000000042"));
        record("create2_response", new Create2Response(LOCK + "0000000042", stat()));
        record("delete_request", new DeleteRequest("/app/node", -1));
        record("delete_request_version", new DeleteRequest("/app/node", 5));
        record("exists_request", new ExistsRequest("/app/node", true));
        record("exists_response", new ExistsResponse(stat()));
        record("get_data_request", new GetDataRequest("/app/node", false));
        record("get_data_response", new GetDataResponse(HELLO, stat()));
        record("get_data_response_null_data", new GetDataResponse(null, stat()));
        record("set_data_request", new SetDataRequest("/app/node", BINARY, 7));
        record("set_data_response", new SetDataResponse(stat()));

        // ---- ACLs ---------------------------------------------------------------------------------
        record("get_acl_request", new GetACLRequest("/app/node"));
        record("get_acl_response", new GetACLResponse(mixedAcl(), stat()));
        record("set_acl_request", new SetACLRequest("/app/node", mixedAcl(), 3));
        record("set_acl_response", new SetACLResponse(stat()));

        // ---- children / sync ------------------------------------------------------------------------
        List<String> kids = Arrays.asList("a", "b-0000000001", "ünïcødé");
        record("get_children_request", new GetChildrenRequest("/app", true));
        record("get_children_response", new GetChildrenResponse(kids));
        record("get_children_response_empty", new GetChildrenResponse(new ArrayList<>()));
        record("get_children2_request", new GetChildren2Request("/app", false));
        record("get_children2_response", new GetChildren2Response(kids, stat()));
        record("sync_request", new SyncRequest("/app"));
        record("sync_response", new SyncResponse("/app"));
        record("check_version_request", new CheckVersionRequest("/app/node", 7));

        // ---- multi ----------------------------------------------------------------------------------
        record("multi_header", new MultiHeader(1, false, -1));
        record("multi_header_done", new MultiHeader(-1, true, -1));
        record("multi_request", new MultiOperationRecord(Arrays.asList(
                Op.create("/m/a", HELLO, openAcl(), 0), // persistent
                Op.create("/m/seq-", BINARY, mixedAcl(), 3), // ephemeral sequential
                Op.delete("/m/b", -1),
                Op.setData("/m/c", HELLO, 3),
                Op.check("/m/d", 4))));
        // Container and TTL creates inside multi use their own op codes (19, 21).
        record("multi_request_create_modes", new MultiOperationRecord(Arrays.asList(
                Op.create("/m/container", new byte[0], openAcl(), CreateMode.CONTAINER),
                Op.create("/m/ttl", HELLO, openAcl(), CreateMode.PERSISTENT_WITH_TTL, 60000L))));
        record("multi_request_empty", new MultiOperationRecord());
        {
            MultiResponse r = new MultiResponse();
            r.add(new OpResult.CreateResult("/m/a"));
            r.add(new OpResult.CreateResult("/m/seq-0000000007", stat())); // as create2 (type 15)
            r.add(new OpResult.DeleteResult());
            r.add(new OpResult.SetDataResult(stat()));
            r.add(new OpResult.CheckResult());
            record("multi_response", r);
        }
        {
            // A failed multi (reply header err is 0): ops before the failure report 0, the failing
            // op its code (-110 NODEEXISTS), the ops after it -2 (RUNTIMEINCONSISTENCY).
            MultiResponse r = new MultiResponse();
            r.add(new OpResult.ErrorResult(0));
            r.add(new OpResult.ErrorResult(-110));
            r.add(new OpResult.ErrorResult(-2));
            r.add(new OpResult.ErrorResult(-2));
            record("multi_response_failed", r);
        }
        record("multi_response_empty", new MultiResponse());
        record("multi_read_request", new MultiOperationRecord(Arrays.asList(
                Op.getChildren("/m"),
                Op.getData("/m/a"))));
        {
            // multiRead: each op succeeds or fails on its own.
            MultiResponse r = new MultiResponse();
            r.add(new OpResult.GetChildrenResult(Arrays.asList("a", "b")));
            r.add(new OpResult.GetDataResult(HELLO, stat()));
            r.add(new OpResult.ErrorResult(-101));
            record("multi_read_response", r);
        }

        // ---- watches --------------------------------------------------------------------------------
        record("check_watches_request", new CheckWatchesRequest("/app/node", 1));
        record("remove_watches_request", new RemoveWatchesRequest("/app/node", 3));
        record("add_watch_request", new AddWatchRequest("/app", 1));
        record("error_response", new ErrorResponse(0));
        record("error_response_nonode", new ErrorResponse(-101));
        record("set_watches", new SetWatches(0x0000000100000007L,
                Arrays.asList("/d1", "/d2"), Collections.singletonList("/e1"), new ArrayList<>()));
        record("set_watches2", new SetWatches2(0x0000000100000008L,
                Collections.singletonList("/d"), Collections.singletonList("/e"),
                Collections.singletonList("/c"), Collections.singletonList("/p"),
                Collections.singletonList("/r")));
        record("watcher_event", new WatcherEvent(3, 3, "/app/node"));
        record("watcher_event_session", new WatcherEvent(-1, -112, null)); // path null

        // ---- misc -----------------------------------------------------------------------------------
        record("get_ephemerals_request", new GetEphemeralsRequest("/app"));
        record("get_ephemerals_response", new GetEphemeralsResponse(Arrays.asList("/app/e1", "/app/x/e2")));
        record("get_all_children_number_request", new GetAllChildrenNumberRequest("/app"));
        record("get_all_children_number_response", new GetAllChildrenNumberResponse(42));
        record("who_am_i_response", new WhoAmIResponse(Arrays.asList(
                new ClientInfo("ip", "127.0.0.1"), new ClientInfo("digest", "alice"))));
        record("auth_packet", new AuthPacket(0, "digest", utf8("alice:secret")));

        // ---- SASL (op 102): GetSASLRequest from the client, SetSASLResponse from the server -------
        // DIGEST-MD5 starts with an empty token; the server's failure answer carries a null one.
        record("get_sasl_request_empty", new GetSASLRequest(new byte[0]));
        record("get_sasl_request", new GetSASLRequest(utf8(SASL_RESPONSE)));
        record("set_sasl_response", new SetSASLResponse(utf8(SASL_CHALLENGE)));
        record("set_sasl_response_null", new SetSASLResponse(null));

        // ---- complete frames ------------------------------------------------------------------------
        frame("create_request_frame", new RequestHeader(1, 1), new CreateRequest(LOCK, HELLO, openAcl(), 3));
        frame("get_data_request_frame", new RequestHeader(2, 4), new GetDataRequest("/app/node", true));
        frame("ping_frame", new RequestHeader(-2, 11), null);
        frame("close_session_frame", new RequestHeader(3, -11), null);
        frame("who_am_i_frame", new RequestHeader(4, 107), null);
        frame("set_watches_frame", new RequestHeader(-8, 101), new SetWatches(0x0000000100000007L,
                Arrays.asList("/d1", "/d2"), Collections.singletonList("/e1"), new ArrayList<>()));
        frame("auth_frame", new RequestHeader(-4, 100), new AuthPacket(0, "digest", utf8("alice:secret")));
        // ClientCnxn.sendPacket gives SASL packets an ordinary xid (getXid()).
        frame("sasl_request_frame", new RequestHeader(1, 102), new GetSASLRequest(new byte[0]));
        // What ZooKeeperServer.processSasl answers to a failed exchange: AUTHFAILED, null token.
        {
            byte[] payload = bytes(oa -> {
                new ReplyHeader(2, 0L, Code.AUTHFAILED.intValue()).serialize(oa, "header");
                new SetSASLResponse(null).serialize(oa, "response");
            });
            emit("sasl_failed_reply_frame", oa -> {
                oa.writeInt(payload.length, "len");
                for (byte x : payload) oa.writeByte(x, "b");
            });
        }
        // Server-to-client frames: length, ReplyHeader, body.
        {
            byte[] payload = bytes(oa -> {
                new ReplyHeader(2, 0x0000000100000009L, 0).serialize(oa, "header");
                new GetDataResponse(HELLO, stat()).serialize(oa, "response");
            });
            emit("get_data_reply_frame", oa -> {
                oa.writeInt(payload.length, "len");
                for (byte x : payload) oa.writeByte(x, "b");
            });
        }
        {
            byte[] payload = bytes(oa -> {
                new ReplyHeader(-1, -1L, 0).serialize(oa, "header");
                new WatcherEvent(4, 3, "/app").serialize(oa, "event");
            });
            emit("notification_frame", oa -> {
                oa.writeInt(payload.length, "len");
                for (byte x : payload) oa.writeByte(x, "b");
            });
        }
    }
}
