// Loaded into every page of bench/lookout_ui_live.py before the UI's own code (an init script):
// records what the benchmark measures in the browser, in window.__bench, which the benchmark
// drains now and then (window.__benchDrain()).
//   samples:   [time, view, jobIds, states] of the jobs shown (rows tr[data-job-id]), taken
//              after every change of the page (a MutationObserver fires after React commits)
//              and every 500 ms, so a table that stops changing is still sampled; ``view`` is
//              the address and a count of the user's inputs, so two samples of one view differ
//              only by what live refresh brought
//   requests:  [route, start, duration ms] of every finished request to the APIs (Resource Timing)
//   aborted:   [route, time, ms waited] of requests aborted before their answer (the view
//              changed, or a newer refresh overtook it)
//   longTasks: [start, duration ms] of main-thread tasks over 50 ms (Long Tasks API)
//   frames:    the number of animation frames and the gaps over 50 ms between two of them
// Times are the wall clock in ms (performance.timeOrigin + a high-resolution time), comparable
// with the log's timestamps on the same machine.
;(() => {
  const wallClock = (t) => performance.timeOrigin + t
  const route = (url) => new URL(url, location.href).pathname
  const fresh = () => ({ samples: [], requests: [], aborted: [], longTasks: [], frames: 0, frameGaps: [] })
  let rec = fresh()
  window.__benchTableAnswers = 0
  window.__benchDrain = () => {
    const out = rec
    rec = fresh()
    return out
  }

  performance.setResourceTimingBufferSize(100000)
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      const path = route(entry.name)
      if (!path.startsWith("/api/") && !path.startsWith("/v1/")) continue
      rec.requests.push([path, wallClock(entry.startTime), entry.duration])
      if (path === "/api/v1/jobs" || path === "/api/v1/jobGroups") window.__benchTableAnswers += 1
    }
    performance.clearResourceTimings()
  }).observe({ type: "resource", buffered: true })

  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) rec.longTasks.push([wallClock(entry.startTime), entry.duration])
  }).observe({ type: "longtask", buffered: true })

  let lastFrame = undefined
  const frame = (t) => {
    rec.frames += 1
    if (lastFrame !== undefined && t - lastFrame > 50) rec.frameGaps.push([wallClock(lastFrame), t - lastFrame])
    lastFrame = t
    requestAnimationFrame(frame)
  }
  requestAnimationFrame(frame)

  const originalFetch = window.fetch
  window.fetch = function (input, init) {
    const url = typeof input === "string" ? input : input.url
    const started = Date.now()
    const answer = originalFetch.call(this, input, init)
    answer.catch((error) => {
      if (error && error.name === "AbortError") rec.aborted.push([route(url), Date.now(), Date.now() - started])
    })
    return answer
  }

  let inputs = 0
  for (const type of ["click", "keydown", "input", "change", "popstate"]) {
    addEventListener(type, () => (inputs += 1), true)
  }
  const sample = () => {
    const rows = document.querySelectorAll("tr[data-job-id]")
    if (rows.length === 0) return
    const ids = []
    const states = []
    for (const row of rows) {
      ids.push(row.dataset.jobId)
      states.push(row.dataset.state)
    }
    rec.samples.push([Date.now(), `${location.pathname}${location.search}#${inputs}`, ids, states])
  }
  new MutationObserver(sample).observe(document, {
    subtree: true,
    childList: true,
    attributes: true,
    attributeFilter: ["data-state"],
  })
  setInterval(sample, 500)
})()
