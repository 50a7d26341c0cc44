// The console page: live state over server-sent events (no reloading), and
// hash routes: #fleet, #device/ID, #readings.
import { renderDevice } from "./device.js"
import { openEventStream } from "./event-stream.js"
import { renderFleet, setUpFleet } from "./fleet.js"
import {
    addReadings,
    initReadings,
    renderReadings,
    setFleet,
} from "./readings.js"

/** @type {any} */
let snap
const $ = id => /** @type {HTMLElement} */ (document.getElementById(id))

function route() {
    const hash = location.hash.slice(1) || "fleet"
    const device = hash.startsWith("device/")
        ? decodeURIComponent(hash.slice(7))
        : ""
    $("view-fleet").hidden = hash !== "fleet"
    $("view-readings").hidden = hash !== "readings"
    $("view-device").hidden = !device
    $("nav-fleet").classList.toggle("here", hash === "fleet")
    $("nav-readings").classList.toggle("here", hash === "readings")
    if (device) renderDevice($("view-device"), device)
    if (hash === "readings") renderReadings($("readings"))
    return device
}

function connect() {
    const live = $("live")
    openEventStream(
        "/events",
        {
            fleet: data => {
                snap = JSON.parse(data)
                setFleet(snap)
                renderFleet(snap)
                const hash = location.hash.slice(1)
                if (hash.startsWith("device/"))
                    renderDevice(
                        $("view-device"),
                        decodeURIComponent(hash.slice(7))
                    )
            },
            "readings-init": data => {
                initReadings(JSON.parse(data))
                if (!$("view-readings").hidden) renderReadings($("readings"))
            },
            readings: data => {
                addReadings(JSON.parse(data))
                if (!$("view-readings").hidden) renderReadings($("readings"))
            },
        },
        open => {
            live.textContent = open ? "live" : "reconnecting…"
            live.classList.toggle("off", !open)
        }
    )
}

setUpFleet(() => snap)
window.addEventListener("hashchange", route)
route()
connect()
// ages ("12 s ago") move on by themselves
setInterval(() => snap && renderFleet(snap, true), 2000)
