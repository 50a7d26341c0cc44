// One command line parser for every CLI (host/lib/args.ts): the option
// table parses and writes the --help text, and each CLI's table is sound.
import { test } from "node:test"
import assert from "node:assert/strict"
import { spawnSync } from "node:child_process"
import {
    helpText,
    parseCommandLine,
    UsageError,
    type CommandSpec,
} from "../../host/lib/args.ts"
import { CONSOLE_COMMAND } from "../../host/console/command.ts"
import { DEMO_COMMAND } from "../../host/demo/command.ts"
import { BENCH_COMMAND } from "../../host/bench/command.ts"
import { TEST_COMMAND } from "../../host/testkit/command.ts"
import { DOCS_COMMAND } from "../../host/docs/command.ts"
import { FLEET_COMMAND } from "../../host/fleet/command.ts"
import { PLATFORM_COMMAND } from "../../host/platform/command.ts"
import { POSTGRES_COMMAND } from "../../host/postgres/command.ts"
import { PROVISION_COMMAND } from "../../host/provision/command.ts"
import { RELEASE_COMMAND } from "../../host/release/command.ts"
import { START_COMMAND } from "../../host/start/command.ts"

const SPEC = {
    usage: "npm run thing -- NAME [options]",
    summary: "Does a thing.",
    positionals: true,
    options: {
        port: { type: "string", value: "N", help: "TCP port" },
        state: {
            type: "string",
            default: "state/thing",
            value: "DIR",
            help: "where it keeps its state",
        },
        group: {
            type: "string",
            multiple: true,
            value: "G",
            help: "a group",
        },
        wss: { type: "boolean", default: false, help: "use TLS" },
    },
    notes: "More words.",
} as const satisfies CommandSpec

test("values, defaults, repeated options and positionals, typed by the table", () => {
    const { values, positionals } = parseCommandLine(SPEC, [
        "x1",
        "--port",
        "8080",
        "--group",
        "a",
        "--group=b",
        "--wss",
    ])
    assert.deepEqual(positionals, ["x1"])
    assert.equal(values.port, "8080")
    assert.equal(values.state, "state/thing")
    assert.deepEqual(values.group, ["a", "b"])
    assert.equal(values.wss, true)
    assert.equal(values.help, undefined)
    assert.equal(parseCommandLine(SPEC, ["--help"]).values.help, true)
})

test("an unknown option, a missing value or an unwanted positional is a UsageError", () => {
    for (const argv of [["--nope"], ["--port"], ["--wss=yes"]])
        assert.throws(() => parseCommandLine(SPEC, argv), UsageError)
    assert.throws(
        () => parseCommandLine({ options: SPEC.options }, ["stray"]),
        UsageError
    )
})

test("the help text lists every option with its value name, help and default", () => {
    const text = helpText(SPEC)
    assert.match(
        text,
        /^usage: npm run thing -- NAME \[options\]\n\nDoes a thing\.\n/
    )
    assert.match(text, /\n  --port N +TCP port\n/)
    assert.match(
        text,
        /\n  --state DIR +where it keeps its state \(default state\/thing\)\n/
    )
    assert.match(text, /\n  --group G \(repeatable\) +a group\n/)
    assert.match(text, /\n  --wss +use TLS\n/)
    assert.match(text, /\n  --help +print this text\n/)
    assert.match(text, /\n\nMore words\.$/)
})

const COMMANDS: [string, CommandSpec][] = [
    ["CONSOLE_COMMAND", CONSOLE_COMMAND],
    ["BENCH_COMMAND", BENCH_COMMAND],
    ["DEMO_COMMAND", DEMO_COMMAND],
    ["DOCS_COMMAND", DOCS_COMMAND],
    ["FLEET_COMMAND", FLEET_COMMAND],
    ["PLATFORM_COMMAND", PLATFORM_COMMAND],
    ["POSTGRES_COMMAND", POSTGRES_COMMAND],
    ["PROVISION_COMMAND", PROVISION_COMMAND],
    ["RELEASE_COMMAND", RELEASE_COMMAND],
    ["START_COMMAND", START_COMMAND],
    ["TEST_COMMAND", TEST_COMMAND],
]

test("each CLI's table: every option documented, defaults of the option's type, --help parses", () => {
    for (const [name, spec] of COMMANDS) {
        const text = helpText(spec)
        for (const [option, o] of Object.entries(spec.options)) {
            assert.ok(o.help.trim(), `${name} --${option} says what it is for`)
            assert.match(
                text,
                new RegExp(`\\n  --${option}\\b`),
                `${name}'s help lists --${option}`
            )
            if (o.default !== undefined)
                assert.equal(
                    typeof o.default,
                    o.type,
                    `${name} --${option}'s default`
                )
        }
        assert.equal(parseCommandLine(spec, ["--help"]).values.help, true)
    }
})

test("every CLI reads its line alike: a bad one is exit 2 with the reason and the help on stderr, --help exit 0 on stdout", () => {
    const run = (...args: string[]) =>
        spawnSync(
            process.execPath,
            ["--import", "tsx", "host/docs/generate.ts", ...args],
            { encoding: "utf8", timeout: 60_000 }
        )
    const bad = run("--bogus")
    assert.equal(bad.status, 2)
    assert.match(bad.stderr, /^docs: Unknown option '--bogus'/)
    assert.match(bad.stderr, /usage: npm run docs -- \[options\]/)
    assert.equal(bad.stdout, "")
    const help = run("--help")
    assert.equal(help.status, 0)
    assert.match(help.stdout, /^usage: npm run docs -- \[options\]/)
    assert.match(help.stdout, /--check/)
})
