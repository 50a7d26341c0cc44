// Fleet service pieces without a network: artifact checks and the
// content-addressed store, rollout logic (the storage itself:
// fleet-store-backends.test.ts, on SQLite and PostgreSQL).
import { test, before, after } from "node:test"
import assert from "node:assert/strict"
import { mkdtempSync, rmSync, writeFileSync, readFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { createHash } from "node:crypto"
import { spawn } from "node:child_process"
import { once } from "node:events"
import {
    ArtifactError,
    ArtifactStore,
    imageHash,
    inspectImage,
    padImage,
    verifyWithToolchain,
} from "../../host/fleet/release/artifacts.ts"
import { SqliteStore } from "../../host/fleet/store/sqlite.ts"
import type { FleetStore } from "../../host/fleet/store/types.ts"
import { CheckedSignatures } from "../../host/fleet/release/checked-signatures.ts"
import {
    desiredAndStateNow,
    desiredFor,
    desiredNow,
    parseScope,
    percentMembers,
} from "../../host/fleet/rollout/desired.ts"
import {
    assign,
    rollback,
    stop,
    widen,
} from "../../host/fleet/rollout/actions.ts"
import { readFleetData } from "../../host/fleet/rollout/fleet-data.ts"
import { CanaryMembers } from "../../host/fleet/rollout/canary-members.ts"
import { fleetView } from "../../host/fleet/rollout/view.ts"
import { buildFleetApp } from "./fleet-helpers.ts"

let dir: string
let v1: Buffer
let v2: Buffer

before(async () => {
    dir = mkdtempSync(join(tmpdir(), "fleet-store-test-"))
    v1 = await buildFleetApp("v1")
    v2 = await buildFleetApp("v2")
})
after(() => rmSync(dir, { recursive: true, force: true }))

async function memStore(
    ids: string[],
    groups: Record<string, string[]> = {}
): Promise<FleetStore> {
    const s = new SqliteStore(":memory:")
    for (const id of ids)
        await s.upsertDevice({
            id,
            key: "11".repeat(32),
            groups: groups[id] ?? [],
            platformId: "",
            createdAt: 1,
        })
    return s
}

async function publish(s: FleetStore, name: string, image: Buffer) {
    await s.addVersion({
        name,
        hash: imageHash(image),
        size: padImage(image).length,
        note: "",
        publishedAt: Date.now(),
        signature: "",
    })
}

test("a built image passes both checks; its hash is SHA-256 of the 32-aligned image", () => {
    const info = inspectImage(v1)
    assert.equal(info.size % 32, 0)
    assert.equal(
        info.hash,
        createHash("sha256").update(padImage(v1)).digest("hex")
    )
    assert.match(info.format, /^2\.16\./)
    const f = join(dir, "v1.devs")
    writeFileSync(f, v1)
    verifyWithToolchain(f)
})

test("truncated, extended, foreign and corrupted images are refused", () => {
    assert.throws(
        () => inspectImage(v1.subarray(0, v1.length - 100)),
        ArtifactError
    )
    assert.throws(() => inspectImage(v1.subarray(0, 50)), /too small/)
    assert.throws(
        () => inspectImage(Buffer.concat([v1, Buffer.alloc(64)])),
        /after the last section/
    )
    const foreign = Buffer.from(v1)
    foreign.write("ELF\x7f", 0, "latin1")
    assert.throws(() => inspectImage(foreign), /bad magic/)
    // damage inside the section table, header magic intact
    const bad = Buffer.from(v1)
    for (let i = 0; i < 16; i++) bad[40 + i] ^= 0x5a
    assert.throws(() => inspectImage(bad), ArtifactError)
    const f = join(dir, "bad.devs")
    writeFileSync(f, bad)
    assert.throws(() => verifyWithToolchain(f), /decoder refused/)
})

test("the artifact store keeps images by hash and refuses one damaged in storage", () => {
    const store = new ArtifactStore(join(dir, "artifacts"))
    const info = store.put(v1)
    assert.equal(store.put(v1).hash, info.hash, "same content, same entry")
    assert.ok(store.has(info.hash))
    assert.deepEqual(store.get(info.hash), padImage(v1))
    const p = store.path(info.hash)
    const damaged = readFileSync(p)
    damaged[damaged.length - 40] ^= 1
    writeFileSync(p, damaged)
    assert.throws(() => store.get(info.hash), /damaged in storage/)
    assert.throws(() => store.get("ab".repeat(32)), /missing/)
    assert.throws(() => store.put(v1.subarray(0, 300)), ArtifactError)
})

test("an image published on another machine is copied from the shared store, checked; a damaged one is refused", async () => {
    const shared = new SqliteStore(":memory:")
    const hash = imageHash(v1)
    await shared.putImage(hash, padImage(v1))
    await shared.putImage(hash, padImage(v2)) // kept once: the first stays
    const here = new ArtifactStore(join(dir, "artifacts-elsewhere"))
    assert.ok(!here.has(hash))
    assert.deepEqual(await here.getShared(hash, shared), padImage(v1))
    assert.ok(here.has(hash), "kept here for the next deploy")
    const damaged = Buffer.from(padImage(v2))
    damaged[damaged.length - 40] ^= 1
    const other = "cd".repeat(32)
    await shared.putImage(other, damaged)
    await assert.rejects(() => here.getShared(other, shared), ArtifactError)
    await assert.rejects(
        () => here.getShared("ef".repeat(32), shared),
        /missing/
    )
    await shared.close()
})

test("canary percentages cover exactly that share, and widening keeps the canary", () => {
    const ids = Array.from({ length: 10 }, (_, i) => `dev${i}`)
    const c20 = percentMembers("v2", 20, ids)
    const c50 = percentMembers("v2", 50, ids)
    assert.equal(c20.size, 2)
    assert.equal(c50.size, 5)
    for (const id of c20) assert.ok(c50.has(id))
    assert.equal(percentMembers("v2", 100, ids).size, 10)
    assert.equal(
        percentMembers("v2", 1, ids).size,
        1,
        "a canary has at least one device"
    )
})

test("assignment: newest covering rollout wins; groups; device; rollback; stop", async () => {
    const s = await memStore(["a", "b", "c", "d"], { a: ["lab"], b: ["lab"] })
    await publish(s, "v1", v1)
    await publish(s, "v2", v2)
    assert.equal(await desiredNow(s, "a"), undefined, "no rollout: left alone")
    await assign(s, "v1", parseScope("all"))
    const g = await assign(s, "v2", parseScope("group:lab"))
    assert.equal((await desiredNow(s, "a"))!.version, "v2")
    assert.equal((await desiredNow(s, "b"))!.version, "v2")
    assert.equal((await desiredNow(s, "c"))!.version, "v1")
    // stop: devices already on v2 keep it, the others get no v2
    await s.updateState("a", { currentHash: imageHash(v2) })
    await stop(s, "by hand", g.id)
    assert.equal((await desiredNow(s, "a"))!.version, "v2")
    assert.equal((await desiredNow(s, "b"))!.version, "v1")
    // roll back one device, then the whole rollout
    const rb = await rollback(s, { deviceId: "a" })
    assert.equal(rb.to, "v1")
    assert.equal((await desiredNow(s, "a"))!.version, "v1")
    await rollback(s, { id: g.id })
    assert.equal((await desiredNow(s, "b"))!.version, "v1")
    await assert.rejects(
        () => assign(s, "v9", { kind: "all" }),
        /no published version/
    )
    await assert.rejects(
        () => assign(s, "v2", parseScope("group:nobody")),
        /no device/
    )
    assert.throws(() => parseScope("half"), RangeError)
})

test("a canary rollout covers exactly its share of the fleet; widen to all", async () => {
    const ids = ["a", "b", "c", "d", "e"]
    const s = await memStore(ids)
    await publish(s, "v1", v1)
    await publish(s, "v2", v2)
    await assign(s, "v1", { kind: "all" })
    const r = await assign(s, "v2", parseScope("40%"))
    const on = async (v: string) => {
        const data = await readFleetData(s)
        return ids.filter(id => desiredFor(data, id, "")!.version === v)
    }
    assert.equal((await on("v2")).length, 2)
    assert.equal((await on("v1")).length, 3)
    const canary = await on("v2")
    await widen(s, 100, r.id)
    assert.deepEqual(await on("v2"), ids)
    const widened = await on("v2")
    assert.ok(canary.every(id => widened.includes(id)))
    await assert.rejects(() => widen(s, 50, r.id), /widen/)
    const view = fleetView(await readFleetData(s))
    assert.equal(view.length, 5)
    assert.ok(view.every(row => row.desired === "v2" && row.current === "?"))
})

test("canary membership kept once per rollout gives each device the version the whole-fleet rule gives, through widening and a growing fleet", async () => {
    const ids = Array.from({ length: 37 }, (_, i) => `dev${i}`)
    const s = await memStore(ids)
    await publish(s, "v1", v1)
    await publish(s, "v2", v2)
    await assign(s, "v1", { kind: "all" })
    const r = await assign(s, "v2", parseScope("10%"))
    const members = new CanaryMembers()
    const agree = async (what: string) => {
        const data = await readFleetData(s)
        let onV2 = 0
        for (const d of data.devices) {
            const kept = await desiredNow(s, d.id, { members })
            assert.deepEqual(
                kept,
                desiredFor(data, d.id, ""),
                `${what}: ${d.id}`
            )
            if (kept?.version === "v2") onV2++
        }
        return onV2
    }
    assert.equal(await agree("10 %"), 4)
    await widen(s, 30, r.id)
    assert.equal(await agree("30 %"), 12)
    // devices enrolled during the canary: the share is of the fleet now
    for (let i = 37; i < 50; i++)
        await s.upsertDevice({
            id: `dev${i}`,
            key: "00".repeat(32),
            groups: [],
            platformId: "",
            createdAt: 0,
        })
    assert.equal(await agree("30 % of 50"), 15)
})

test("release signatures are checked once per hash and signature; a failure is never kept; the newest are kept", () => {
    const checked = new CheckedSignatures(4)
    const runs: string[] = []
    const pass = (name: string) => () => void runs.push(name)
    checked.check("h1", "s1", pass("h1/s1"))
    checked.check("h1", "s1", pass("again h1/s1"))
    assert.deepEqual(runs, ["h1/s1"], "the second deploy is not checked again")
    checked.check("h1", "s2", pass("h1/s2"))
    assert.deepEqual(runs, ["h1/s1", "h1/s2"], "a new signature is checked")
    const refuse = () => {
        runs.push("bad")
        throw new Error("the signature does not match")
    }
    assert.throws(() => checked.check("h2", "s", refuse), /does not match/)
    assert.throws(() => checked.check("h2", "s", refuse), /does not match/)
    assert.equal(
        runs.filter(r => r === "bad").length,
        2,
        "a failure is not kept"
    )
    for (const h of ["h3", "h4", "h5"]) checked.check(h, "s", pass(h))
    // four kept: h1/s1, the oldest, was let go when h5 came; h1/s2 was not
    checked.check("h1", "s2", pass("again h1/s2"))
    checked.check("h1", "s1", pass("again h1/s1"))
    assert.deepEqual(runs.slice(-2), ["h5", "again h1/s1"])
})

test("a SQLite store waits for the disk at each commit unless asked not to (the service's own store)", () => {
    const file = join(dir, "sync.db")
    const sync = (s: SqliteStore) =>
        s.db.pragma("synchronous", { simple: true })
    const operator = new SqliteStore(file)
    const service = new SqliteStore(file, {}, { syncEveryCommit: false })
    try {
        assert.equal(sync(operator), 2, "FULL")
        assert.equal(sync(service), 1, "NORMAL")
        assert.equal(service.db.pragma("journal_mode", { simple: true }), "wal")
    } finally {
        operator.db.close()
        service.db.close()
    }
})

test("a SQLite state patch that changes nothing writes nothing; one that changes a field writes it", async () => {
    const store = new SqliteStore(":memory:")
    const changes = () =>
        store.db.prepare("SELECT total_changes() AS n").get() as { n: number }
    try {
        await store.updateState("d1", { currentHash: "aa".repeat(32) })
        const first = changes().n
        const same = await store.updateState("d1", {
            currentHash: "aa".repeat(32),
        })
        assert.equal(changes().n, first, "the same hash again: no write")
        assert.equal(same.currentHash, "aa".repeat(32))
        await store.updateState("d1", { currentHash: "bb".repeat(32) })
        assert.equal(changes().n, first + 1)
        assert.equal((await store.state("d1")).currentHash, "bb".repeat(32))
    } finally {
        store.db.close()
    }
})

/**
 * Another process (an operator's command, another instance) sets d1's
 * `lastError` in `file` and holds the write lock until `release()`, or
 * `ms` after it took it.
 */
async function otherProcessWriting(file: string, ms?: number) {
    const other = spawn(
        process.execPath,
        [
            "-e",
            `const db = new (require("better-sqlite3"))(process.argv[1])
            db.exec("BEGIN IMMEDIATE")
            const row = db.prepare("SELECT json FROM device_state WHERE id = 'd1'").get()
            const st = JSON.parse(row.json)
            st.lastError = "written by the other process"
            db.prepare("UPDATE device_state SET json = ? WHERE id = 'd1'").run(JSON.stringify(st))
            const commit = () => { db.exec("COMMIT"); process.exit(0) }
            if (process.argv[2]) setTimeout(commit, Number(process.argv[2]))
            else process.stdin.once("data", commit)
            console.log("locked")`,
            file,
            ms === undefined ? "" : String(ms),
        ],
        { stdio: ["pipe", "pipe", "inherit"] }
    )
    const exited = once(other, "exit")
    await once(other.stdout!, "data")
    return {
        exited,
        release: () => other.stdin!.end("commit\n"),
        /** Ends it should the test fail first (it would hold the lock forever). */
        kill: () => other.kill(),
    }
}

test("a SQLite state patch made while another process holds the write lock waits for it, and keeps that process's change", async () => {
    const file = join(dir, "two-processes.db")
    const store = new SqliteStore(file, {}, { syncEveryCommit: false })
    try {
        await store.updateState("d1", { lastError: "" })
        const other = await otherProcessWriting(file, 400)
        // a read, then a write: a read taken before the other commit could
        // not be turned into a write (SQLITE_BUSY at once)
        const st = await store.updateState("d1", {
            currentHash: "cc".repeat(32),
        })
        assert.deepEqual(await other.exited, [0, null])
        assert.equal(st.lastError, "written by the other process")
        assert.equal(st.currentHash, "cc".repeat(32))
        assert.deepEqual(await store.state("d1"), st)
    } finally {
        store.db.close()
    }
})

test("a SQLite read-only transaction does not wait for another process's writer, and may not write", async t => {
    const file = join(dir, "read-only.db")
    const store = new SqliteStore(file, {}, { syncEveryCommit: false })
    try {
        await store.updateState("d1", { lastError: "" })
        const other = await otherProcessWriting(file)
        t.after(() => other.kill())
        // a check-in's read (session.ts): the last commit, at once (one
        // that took the write lock would wait for it, blocking the thread,
        // and fail after busy_timeout: the other commits only when told)
        const seen = await desiredAndStateNow(store, "d1")
        assert.equal(seen.state.lastError, "")
        other.release()
        assert.deepEqual(await other.exited, [0, null])
        await assert.rejects(
            store.atomically(tx => tx.updateState("d1", { health: "ok" }), {
                readOnly: true,
            }),
            /read-only transaction/
        )
        const stateAfter = await store.state("d1")
        assert.equal(stateAfter.health, "unknown")
        assert.equal(stateAfter.lastError, "written by the other process")
        // and the store writes again after it
        await store.updateState("d1", { health: "ok" })
        assert.equal((await store.state("d1")).health, "ok")
    } finally {
        store.db.close()
    }
})
