// Topic permissions as a product has them: the default user topic classes
// (update and update/error pub, get sub), the system topics a device
// publishes on, custom classes from an option or a topics file, and the
// refusals (10001 with a detail) for subscribe-only and undefined topics.
import { test, before, after } from "node:test"
import assert from "node:assert/strict"
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { startPlatform, type Platform } from "../../host/platform/index.ts"
import { authenticate, publish } from "../../host/testkit/platform-client.ts"
import {
    parseTopicsFile,
    topicPermission,
    DEFAULT_TOPIC_CLASSES,
    TopicClassError,
} from "../../host/platform/topics.ts"
import { startPlatformCli } from "./platform-cli-process.ts"

const dev = {
    productKey: "a1PermPK001",
    deviceName: "perm-1",
    deviceSecret: "permSecret0123456789abcdef012345",
}
const dev2 = { ...dev, deviceName: "perm-2" }
const pre = `/${dev.productKey}/${dev.deviceName}`
const stateDir = mkdtempSync(join(tmpdir(), "platform-perm-"))
let p: Platform
let token: string

before(async () => {
    p = await startPlatform({
        stateDir,
        adminPort: false,
        devices: [dev, dev2],
        topics: [
            {
                topic: "/${productKey}/${deviceName}/user/data",
                permission: "pub",
            },
            {
                topic: "/${productKey}/${deviceName}/user/both/way",
                permission: "all",
            },
            {
                topic: "/${productKey}/${deviceName}/user/cmd",
                permission: "sub",
            },
        ],
    })
    token = await authenticate(p, dev)
})
after(async () => {
    await p.close()
    rmSync(stateDir, { recursive: true, force: true })
})

test("publish-permission topics are accepted: the default user ones and the system ones", async () => {
    const ok = [
        `${pre}/user/update`,
        `${pre}/user/update/error`,
        `/sys${pre}/thing/event/property/post`,
        `/sys${pre}/thing/event/property/history/post`,
        `/sys${pre}/thing/deviceinfo/update`,
    ]
    const before = p.messages().length
    // the history topic takes only a history post (platform-history.test.ts)
    const history = JSON.stringify({
        id: "1",
        version: "1.0",
        params: [
            {
                identity: {
                    productKey: dev.productKey,
                    deviceName: dev.deviceName,
                },
                properties: [{ t: { value: 1, time: p.now() } }],
            },
        ],
        method: "thing.event.property.history.post",
    })
    for (const topic of ok) {
        const body = topic.endsWith("/history/post") ? history : "x"
        const r = await publish(p, topic, token, body)
        assert.equal(r.json.code, 0, `${topic}: ${r.text}`)
    }
    assert.deepEqual(
        p
            .messages()
            .slice(before)
            .map(m => m.topic),
        ok
    )
    // the version report is accepted too, and still kept apart
    const informs = p.informs().length
    const inform = `/ota/device/inform/${dev.productKey}/${dev.deviceName}`
    assert.equal((await publish(p, inform, token, "{}")).json.code, 0)
    assert.equal(p.informs().length, informs + 1)
    assert.equal(p.messages().length, before + ok.length)
})

test("a subscribe-only topic is refused with 10001 and a detail", async () => {
    const before = p.messages().length
    for (const topic of [`${pre}/user/get`, `${pre}/user/cmd`]) {
        const r = await publish(p, topic, token, "x")
        assert.equal(r.json.code, 10001, topic)
        assert.equal(r.json.message, "param error")
        assert.match(r.json.detail, /subscribe permission only/)
        assert.ok(r.json.detail.includes(topic))
    }
    assert.equal(p.messages().length, before)
})

test("an undefined topic of the device's own is refused with 10001 and a detail", async () => {
    const before = p.messages().length
    for (const topic of [
        `${pre}/user/other`,
        `${pre}/user/update/more`,
        `${pre}/user/data/x`,
        `${pre}/user`,
        `${pre}/pub`,
        `${pre}/a/b/c`,
        `/sys${pre}/thing/event/property/set`,
        `/sys${pre}/thing/service/property/set`,
        `${pre}/USER/UPDATE`,
    ]) {
        const r = await publish(p, topic, token, "x")
        assert.equal(r.json.code, 10001, topic)
        assert.match(r.json.detail, /is not defined/, topic)
    }
    assert.equal(p.messages().length, before)
})

test("custom classes: placeholders expand per device, pub and all accepted", async () => {
    const t2 = await authenticate(p, dev2)
    const pre2 = `/${dev2.productKey}/${dev2.deviceName}`
    for (const [tk, px] of [
        [token, pre],
        [t2, pre2],
    ]) {
        assert.equal(
            (await publish(p, `${px}/user/data`, tk, "d")).json.code,
            0
        )
        assert.equal(
            (await publish(p, `${px}/user/both/way`, tk, "d")).json.code,
            0
        )
    }
    // a device may still only publish to its own topics
    const r = await publish(p, `${pre2}/user/data`, token, "d")
    assert.equal(r.json.code, 10001)
    assert.match(r.json.detail, /does not belong/)
})

test("without custom classes only the defaults exist", async () => {
    const q = await startPlatform({
        stateDir,
        adminPort: false,
        devices: [dev],
    })
    try {
        const tk = await authenticate(q, dev)
        assert.equal(
            (await publish(q, `${pre}/user/update`, tk, "x")).json.code,
            0
        )
        const r = await publish(q, `${pre}/user/data`, tk, "x")
        assert.equal(r.json.code, 10001)
        assert.match(r.json.detail, /is not defined/)
    } finally {
        await q.close()
    }
})

test("topic classes: exact matching after expansion, defaults as a new product has them", () => {
    assert.deepEqual(
        DEFAULT_TOPIC_CLASSES.map(c => [c.topic, c.permission]),
        [
            ["/${productKey}/${deviceName}/user/update", "pub"],
            ["/${productKey}/${deviceName}/user/update/error", "pub"],
            ["/${productKey}/${deviceName}/user/get", "sub"],
        ]
    )
    const perm = (t: string) =>
        topicPermission(DEFAULT_TOPIC_CLASSES, t, "pk", "dn")
    assert.equal(perm("/pk/dn/user/update"), "pub")
    assert.equal(perm("/pk/dn/user/get"), "sub")
    assert.equal(perm("/pk/dn/user/update/"), undefined)
    assert.equal(perm("/pk/dn2/user/update"), undefined)
    assert.equal(perm("/${productKey}/${deviceName}/user/update"), undefined)
})

test("topics file: a JSON array of {topic, permission}; every bad entry named with its line", () => {
    const good = parseTopicsFile(
        '[\n {"topic": "/${productKey}/${deviceName}/user/data", "permission": "pub"},\n' +
            ' {"topic": "/${productKey}/${deviceName}/user/a_1/B2", "permission": "all"}\n]\n'
    )
    assert.deepEqual(good, [
        { topic: "/${productKey}/${deviceName}/user/data", permission: "pub" },
        {
            topic: "/${productKey}/${deviceName}/user/a_1/B2",
            permission: "all",
        },
    ])
    assert.deepEqual(parseTopicsFile("[]"), [])
    const entry = (e: string) =>
        `[\n {"topic": "/\${productKey}/\${deviceName}/user/ok", "permission": "pub"},\n ${e}\n]`
    const cases: [string, RegExp][] = [
        [
            '{"topic": "/${productKey}/${deviceName}/user/x", "permission": "publish"}',
            /^entry 2 \(line 3\): permission must be pub, sub or all$/,
        ],
        [
            '{"topic": "/${productKey}/${deviceName}/x", "permission": "pub"}',
            /^entry 2 \(line 3\): topic must start with \/\$\{productKey\}\/\$\{deviceName\}\/user\/$/,
        ],
        [
            '{"topic": "/${productKey}/${deviceName}/user/+", "permission": "pub"}',
            /^entry 2 \(line 3\): topic after .* must be levels/,
        ],
        [
            '{"topic": "/${productKey}/${deviceName}/user/a//b", "permission": "pub"}',
            /^entry 2 \(line 3\): topic after/,
        ],
        [
            '{"topic": "/${productKey}/${deviceName}/user/", "permission": "pub"}',
            /^entry 2 \(line 3\): topic after/,
        ],
        [
            '{"topic": "/${productKey}/${deviceName}/user/update", "permission": "all"}',
            /^entry 2 \(line 3\): topic .* is already defined$/,
        ],
        [
            '{"topic": "/${productKey}/${deviceName}/user/ok", "permission": "sub"}',
            /^entry 2 \(line 3\): topic .* is already defined$/,
        ],
        [
            '{"topic": "/${productKey}/${deviceName}/user/y", "permission": "pub", "desc": 1}',
            /^entry 2 \(line 3\): unknown field\(s\) desc$/,
        ],
        [
            '"/${productKey}/${deviceName}/user/y"',
            /^entry 2 \(line 3\): must be an object/,
        ],
        [
            '{"topic": 5, "permission": "pub"}',
            /^entry 2 \(line 3\): topic must be a string$/,
        ],
    ]
    for (const [e, re] of cases)
        assert.throws(
            () => parseTopicsFile(entry(e)),
            (err: Error) => {
                assert.ok(err instanceof TopicClassError)
                assert.match(err.message, re)
                return true
            }
        )
    assert.throws(
        () => parseTopicsFile('{"topic": "x"}'),
        /must be a JSON array/
    )
    // a JSON error names its line and column, not the text
    assert.throws(
        () =>
            parseTopicsFile('[\n {"topic": "/x", "permission": pubSECRET}\n]'),
        (err: Error) => {
            assert.match(err.message, /line 2, column 32/)
            assert.ok(!err.message.includes("SECRET"))
            return true
        }
    )
    assert.throws(() => parseTopicsFile(""), /line 1, column 1/)
    assert.throws(() => parseTopicsFile("[".repeat(100_000)), /not valid JSON/)
})

/** Runs the CLI with `args`; at its banner publishes to three topics, then stops it. */
async function runCli(args: string[]) {
    const cli = await startPlatformCli([
        "--port",
        "0",
        "--state",
        stateDir,
        "--quiet",
        "--device",
        `${dev.productKey}/${dev.deviceName}/${dev.deviceSecret}`,
        ...args,
    ])
    const results: number[] = []
    try {
        if (cli.url) {
            const target = {
                port: cli.port,
                ca: readFileSync(cli.caFile, "utf8"),
            }
            const tk = await authenticate(target, dev)
            for (const t of [
                `${pre}/user/data`,
                `${pre}/user/cmd`,
                `${pre}/user/update`,
            ])
                results.push((await publish(target, t, tk, "x")).json.code)
        }
    } finally {
        await cli.stop()
    }
    return { out: cli.output(), code: cli.exitCode(), results }
}

test("npm run platform -- --topics FILE: custom classes; a bad file is a clear error, not a crash", async () => {
    const dir = mkdtempSync(join(tmpdir(), "platform-topics-file-"))
    try {
        const good = join(dir, "topics.json")
        writeFileSync(
            good,
            JSON.stringify([
                {
                    topic: "/${productKey}/${deviceName}/user/data",
                    permission: "pub",
                },
                {
                    topic: "/${productKey}/${deviceName}/user/cmd",
                    permission: "sub",
                },
            ])
        )
        const r = await runCli(["--topics", good])
        assert.deepEqual(r.results, [0, 10001, 0], r.out)

        const bad = join(dir, "bad.json")
        writeFileSync(
            bad,
            '[\n  {"topic": "/${productKey}/${deviceName}/user/ok", "permission": "pub"},\n  {"topic": "/${productKey}/${deviceName}/user/x", "permission": "write"}\n]\n'
        )
        const b = await runCli(["--topics", bad])
        assert.equal(b.code, 2, b.out)
        assert.match(
            b.out,
            /--topics .*bad\.json: entry 2 \(line 3\): permission must be pub, sub or all/
        )
        assert.doesNotMatch(b.out, /at .*\.ts:\d+/, "no stack trace")

        const broken = join(dir, "broken.json")
        writeFileSync(broken, '[\n  {"topic": \n')
        const c = await runCli(["--topics", broken])
        assert.equal(c.code, 2, c.out)
        assert.match(
            c.out,
            /broken\.json: not valid JSON: .* at line 3, column 1/
        )

        // a devices file holds secrets: its JSON errors do not quote it either
        const devices = join(dir, "devices.json")
        writeFileSync(
            devices,
            '[\n  "pk/dn/s3cret",\n  {"deviceSecret": s3cretUnquoted}\n]'
        )
        const d = await runCli(["--devices", devices])
        assert.equal(d.code, 2, d.out)
        assert.match(d.out, /not valid JSON: .* at line 3, column 20/)
        assert.doesNotMatch(d.out, /s3cret/)
    } finally {
        rmSync(dir, { recursive: true, force: true })
    }
})
