// The board polls /board/data.json with If-None-Match: a 304 costs nothing, and polling simply resumes
// after a server restart. Everything is built with textContent, never innerHTML, so no name can inject.
(function () {
  "use strict";
  const cfg = document.body.dataset;
  const wall = cfg.wall === "1";
  const rowsEl = document.getElementById("rows");
  const statusEl = document.getElementById("status");
  const form = document.querySelector("form.filters");
  let etag = "";
  let options = null;

  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function query() {
    const q = new URLSearchParams();
    if (form) new FormData(form).forEach((v, k) => { if (v) q.set(k, v); });
    return q;
  }

  // A wall screen's token goes in a header, never in an address (addresses end up in access logs).
  function headers(extra) {
    return Object.assign(cfg.token ? { "X-Display-Token": cfg.token } : {}, extra || {});
  }

  function fillOptions(opts) {
    if (!form || options) return;
    options = opts;
    for (const [name, list] of [["workshop", opts.workshops], ["customer", opts.customers], ["stage", opts.stages], ["status", opts.statuses]]) {
      const sel = form.elements[name];
      const chosen = sel.value;  // from the address (see below), or picked meanwhile
      while (sel.options.length > 1) sel.remove(1);  // keep 全部…
      // A chosen value no row has right now stays a choice, so the select still says what is filtered.
      for (const value of list.includes(chosen) || !chosen ? list : list.concat([chosen])) {
        const o = el("option", "", value);
        o.value = value;
        sel.appendChild(o);
      }
      sel.value = chosen;
    }
  }

  // A bookmarked address names its filters: select them before the first request, so the first rows are
  // already the filtered ones (the lists of choices arrive with the data).
  if (form) {
    const current = new URLSearchParams(location.search);
    for (const name of ["workshop", "customer", "stage", "status"]) {
      const value = current.get(name);
      if (!value) continue;
      const o = el("option", "", value);
      o.value = value;
      form.elements[name].appendChild(o);
      form.elements[name].value = value;
    }
  }

  const TAGS = { late: "已逾期", at_risk: "有风险", exception: "有异常" };

  // A multi-shift plant: today's shifts, plan against output, the one on duty marked.
  function renderShifts(shifts) {
    const box = document.getElementById("shifts");
    if (!box) return;
    box.replaceChildren();
    box.hidden = !shifts || !shifts.length;
    for (const s of shifts || []) {
      const item = el("span", "shift" + (s.on_duty ? " on" : "") + (s.working ? "" : " rest"));
      item.appendChild(el("b", "", s.name + (s.on_duty ? "（当班）" : "")));
      const pct = s.percent === null ? "" : " " + s.percent + "%";
      const crew = s.crew ? " " + s.crew : "";
      item.appendChild(el("span", "", " " + s.hours + crew + " 计划 " + s.planned + " 完成 " + s.good + pct));
      box.appendChild(item);
    }
  }

  function render(data) {
    fillOptions(data.options);
    const c = data.counts;
    document.getElementById("c-total").textContent = c.shown + "/" + c.total;
    document.getElementById("c-late").textContent = c.late;
    document.getElementById("c-risk").textContent = c.at_risk;
    document.getElementById("c-exc").textContent = c.exception;
    document.getElementById("c-alert").textContent = c.alert;
    renderShifts(data.shifts);
    const frag = document.createDocumentFragment();
    for (const r of data.rows) {
      const row = el("div", "row " + r.status + (r.work_order ? "" : " line") + (r.alerts ? " alerted" : ""));
      row.dataset.key = r.key;
      if (r.work_order) row.dataset.wo = r.work_order;
      row.appendChild(el("div", "bar"));
      const body = el("div", "body");
      const top = el("div", "top");
      // An order line without a live work order: not scheduled yet, or made and waiting to ship.
      const link = el("a", "", r.bill_no + " · " + (r.work_order || "第 " + r.line_no + " 行"));
      // A wall screen opens it by the session its wall page started: no token in the link.
      link.href = "/board/order/" + encodeURIComponent(r.bill_no);
      top.appendChild(link);
      top.appendChild(el("span", "customer", r.customer));
      // The forecast names the risk (会逾期 2 天 / 有风险（余 1 天）) where it found one.
      const foreseen = r.forecast_risk === "late" || r.forecast_risk === "at_risk";
      if (TAGS[r.status]) top.appendChild(el("span", "tag " + r.status, r.status === "late" ? "逾期 " + (-r.days_to_due) + " 天" : r.status === "at_risk" && foreseen ? r.forecast_label : TAGS[r.status]));
      if (foreseen && r.status !== "at_risk") {
        // Past due already says 逾期 N 天: the forecast adds when it will be done.
        const text = r.forecast_label.startsWith("已逾期，") ? r.forecast_label.slice(4) : "预测" + r.forecast_label;
        top.appendChild(el("span", "tag " + r.forecast_risk, text));
      }
      if (r.exceptions && r.status !== "exception") top.appendChild(el("span", "tag exception", "异常 " + r.exceptions));
      if (r.alerts) top.appendChild(el("span", "tag alert", "告警 " + r.alerts));
      body.appendChild(top);
      const meta = el("div", "meta");
      meta.appendChild(el("span", "", r.product + "（" + r.item_number + "）"));
      meta.appendChild(el("span", "done", "完成 " + r.done_qty + "/" + r.planned_qty + "（" + r.percent + "%）"));
      if (r.workshop) meta.appendChild(el("span", "", r.workshop + (r.machine ? " · " + r.machine : "")));
      if (r.finished.length) meta.appendChild(el("span", "", "已完工 " + r.finished.join("、")));
      else if (!r.work_order) meta.appendChild(el("span", "", "未排产"));
      meta.appendChild(el("span", "", (r.planned_start ? "计划开工 " + r.planned_start + " · " : "") + "交期 " + r.due_date));
      if (r.eta) meta.appendChild(el("span", "eta", r.eta));
      if (r.people.length) meta.appendChild(el("span", "", "在做：" + r.people.join("、")));
      body.appendChild(meta);
      const stages = el("div", "stages");
      data.options.stages.forEach((s, i) => {
        if (i) stages.appendChild(document.createTextNode("→"));
        stages.appendChild(i === r.stage_index ? el("b", "", "【" + s + "】") : el("span", "", s));
      });
      body.appendChild(stages);
      const ops = el("div", "ops");
      for (const op of r.ops) {
        const o = el("div", "op" + (op.status === "done" ? " done" : ""));
        o.appendChild(el("div", "", op.name + " " + op.good + "（" + op.percent + "%）"));
        const track = el("div", "track");
        const fill = el("div", "fill");
        fill.style.width = op.percent + "%";
        track.appendChild(fill);
        o.appendChild(track);
        ops.appendChild(o);
      }
      body.appendChild(ops);
      row.appendChild(body);
      frag.appendChild(row);
    }
    rowsEl.replaceChildren(frag);
    if (!data.rows.length) rowsEl.appendChild(el("div", "empty", "没有符合条件的未完成订单"));
    rowsEl.dataset.version = (Number(rowsEl.dataset.version || 0) + 1).toString();
  }

  async function poll() {
    try {
      const res = await fetch("/board/data.json?" + query().toString(), {
        headers: headers(etag ? { "If-None-Match": etag } : {}), credentials: "same-origin", cache: "no-store",
      });
      if (res.status === 200) {
        etag = res.headers.get("ETag") || "";
        render(await res.json());
      } else if (res.status !== 304) {
        throw new Error(res.status === 401 ? "登录已过期，请重新打开" : "服务器返回 " + res.status);
      }
      statusEl.textContent = "已更新 " + new Date().toLocaleTimeString("zh-CN", { hour12: false });
      statusEl.className = "";
    } catch (err) {
      statusEl.textContent = "连接中断，正在重试…（" + err.message + "）";
      statusEl.className = "down";
    }
    setTimeout(poll, Number(cfg.poll));
  }

  if (form) {
    form.addEventListener("change", () => {
      etag = "";
      history.replaceState(null, "", "?" + query().toString());
      fetchNow();
    });
    form.addEventListener("submit", (e) => e.preventDefault());
  }
  function fetchNow() {
    fetch("/board/data.json?" + query().toString(), { headers: headers(), credentials: "same-origin", cache: "no-store" })
      .then((r) => (r.ok ? r.json().then((d) => { etag = r.headers.get("ETag") || ""; render(d); }) : null));
  }

  // A TV has nobody to scroll it: glide down, pause at the end, start again at the top.
  if (wall) {
    let pause = 0;
    setInterval(() => {
      if (pause > 0) { pause -= 1; return; }
      const bottom = window.innerHeight + window.scrollY >= document.body.scrollHeight - 2;
      if (bottom) { pause = 60; setTimeout(() => window.scrollTo(0, 0), 2500); } else { window.scrollBy(0, 2); }
    }, 50);
  }
  poll();
})();
