/**
 * Reading the device's flash-keep lines (keep-lines.ts): the lines are the
 * firmware's own (src/reading-keeper.ts, src/reporter.ts).
 */
import { test } from "node:test"
import assert from "node:assert/strict"
import { flashAtBoots, lastKeptBefore, lostAtBoot } from "./keep-lines.ts"

const lines = [
    "start: devs-iot-https-client v1",
    "flash: 0 readings kept, 0 dropped for room, next seq 1",
    "report: accepted messageId=1 seq 1",
    "report: kept seq 2..5 in flash",
    "report: kept seq 6..9 in flash",
    "start: devs-iot-https-client v1",
    "flash: 12 readings kept, 0 dropped for room, next seq 15",
    "report: 12 readings kept from before the restart (seq 2..13)",
    "report: kept seq 15..18 in flash",
    "start: devs-iot-https-client v1",
    "flash: 16 readings kept, 1 dropped for room, next seq 21",
    "report: 16 readings kept from before the restart (seq 3..18)",
]

test("each boot's flash, and what it lost, from the boot's own lines", () => {
    const boots = flashAtBoots(lines)
    assert.deepEqual(boots, [
        { at: 1, kept: 0, dropped: 0, nextSeq: 1 },
        {
            at: 6,
            kept: 12,
            dropped: 0,
            nextSeq: 15,
            restored: { from: 2, through: 13 },
        },
        {
            at: 10,
            kept: 16,
            dropped: 1,
            nextSeq: 21,
            restored: { from: 3, through: 18 },
        },
    ])
    // the group 10..13 committed before the cut without its line still counts
    assert.deepEqual(lostAtBoot(boots[1]), [14])
    assert.deepEqual(lostAtBoot(boots[2]), [19, 20])
    assert.throws(() => lostAtBoot(boots[0]), /restored nothing/)
    assert.deepEqual(flashAtBoots(lines, 7), [boots[2]])
})

test("a restore line that disagrees with the boot's flash line is an error", () => {
    assert.throws(
        () =>
            flashAtBoots([
                "flash: 8 readings kept, 0 dropped for room, next seq 12",
                "report: 4 readings kept from before the restart (seq 5..8)",
            ]),
        /restores 4 readings, but flash held 8/
    )
})

test("the newest group the device said it kept before a line", () => {
    assert.equal(lastKeptBefore(lines, 6), 9)
    assert.equal(lastKeptBefore(lines, lines.length), 18)
    assert.equal(lastKeptBefore(lines, 3), 0)
})
