/* 本地 Telegram web chat: plain JavaScript, no build step, no network beyond this server. */
"use strict";

const $ = (id) => document.getElementById(id);

const state = {
  bot: null,
  presets: [],
  places: [], // named coordinates for the location dialog
  users: [],
  groups: [],
  me: null, // user id
  chatId: null,
  chat: null, // the open chat (Telegram Chat JSON)
  chats: [],
  messages: new Map(), // message_id -> ui message of the open chat
  commands: [],
  replyKeyboard: null,
  unread: new Map(),
  connected: null,
  pendingStart: null, // start payload from /ui/open?start=...
  busy: new Set(), // debounced actions in flight
  stickBottom: true, // keep the newest message in view
};

// ---------------------------------------------------------------------------------------------
// small helpers

async function api(path, body) {
  const opts = body === undefined ? {} : {
    method: "POST",
    headers: body instanceof FormData ? {} : { "Content-Type": "application/json" },
    body: body instanceof FormData ? body : JSON.stringify(body),
  };
  let res;
  try {
    res = await fetch("/ui/api/" + path, opts);
  } catch (err) {
    throw new Error("连不上本地服务器，请稍后再试");
  }
  let data = {};
  try {
    data = await res.json();
  } catch (err) {
    data = { ok: false, error: "服务器回答看不懂（" + res.status + "）" };
  }
  if (!res.ok || data.ok === false) throw new Error(data.error || "出错了（" + res.status + "）");
  return data;
}

/** Run fn once per key at a time; repeated clicks while it runs (or right after) are ignored. */
async function once(key, fn, holdMs = 800) {
  if (state.busy.has(key)) return;
  state.busy.add(key);
  try {
    await fn();
  } catch (err) {
    toast(err.message);
  } finally {
    setTimeout(() => state.busy.delete(key), holdMs);
  }
}

let toastTimer = null;
function toast(text) {
  const el = $("toast");
  el.textContent = text;
  el.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { el.hidden = true; }, 3500);
}

function showAlert(text) {
  $("alert-text").textContent = text;
  const dlg = $("alert-dialog");
  if (!dlg.open) dlg.showModal();
}

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v);
  }
  for (const c of children) if (c !== null && c !== undefined) node.append(c);
  return node;
}

function timeLabel(unix) {
  const d = new Date(unix * 1000);
  return String(d.getHours()).padStart(2, "0") + ":" + String(d.getMinutes()).padStart(2, "0");
}

function meUser() {
  return state.users.find((u) => u.user_id === state.me) || null;
}

// ---------------------------------------------------------------------------------------------
// deep links

const LINK_RE = /^(?:https?:\/\/)?(?:t\.me|telegram\.me)\/([A-Za-z0-9_]+)\?start=([A-Za-z0-9_-]*)$/;

function isOwnStartLink(url) {
  const m = LINK_RE.exec(url || "");
  return m && state.bot && m[1].toLowerCase() === state.bot.username.toLowerCase();
}

async function openLink(link) {
  if (!state.me) {
    toast("请先在左边选择身份");
    return;
  }
  await api("deeplink", { user_id: state.me, link });
  await selectChat(state.me);
}

// ---------------------------------------------------------------------------------------------
// people and chats

async function loadState() {
  const data = await api("state");
  state.bot = data.bot;
  state.presets = data.presets;
  state.places = data.places || [];
  state.users = data.users;
  state.groups = data.groups;
  $("bot-name").textContent = data.bot.name + " · @" + data.bot.username;
  setConnected(data.bot.connected);
  renderPeople();
}

function renderPeople() {
  const select = $("person-select");
  const current = state.me;
  select.replaceChildren(el("option", { value: "", text: "— 请选择 —" }));
  const presetIds = new Set(state.presets.map((p) => p.user_id));
  const presetGroup = el("optgroup", { label: "示例身份" });
  for (const p of state.presets) {
    presetGroup.append(el("option", { value: String(p.user_id), text: p.name + (p.description ? "（" + p.description + "）" : "") }));
  }
  if (state.presets.length) select.append(presetGroup);
  const others = state.users.filter((u) => !presetIds.has(u.user_id));
  if (others.length) {
    const g = el("optgroup", { label: "其他人" });
    for (const u of others) g.append(el("option", { value: String(u.user_id), text: u.name + " #" + u.user_id }));
    select.append(g);
  }
  select.value = current ? String(current) : "";
  const preset = state.presets.find((p) => p.user_id === current);
  $("person-desc").textContent = preset ? preset.description : current ? "用户编号 " + current : "";
}

async function selectPerson(userId) {
  state.me = userId;
  state.unread.clear();
  localStorage.setItem("emulator.me", userId ? String(userId) : "");
  renderPeople();
  if (!userId) {
    state.chats = [];
    renderChats();
    return;
  }
  await loadChats();
  if (state.pendingStart !== null) {
    const payload = state.pendingStart;
    state.pendingStart = null;
    $("banner-link").hidden = true;
    history.replaceState(null, "", "/ui/");
    await api("deeplink", { user_id: userId, link: payload || "https://t.me/" + state.bot.username + "?start=" });
  }
  await selectChat(userId);
}

async function loadChats() {
  if (!state.me) return;
  const data = await api("chats?user_id=" + state.me);
  state.chats = data.chats;
  renderChats();
}

function renderChats() {
  const list = $("chat-list");
  list.replaceChildren();
  for (const c of state.chats) {
    const name = c.type === "private" ? (state.bot ? state.bot.name : "机器人") : c.title;
    const unread = state.unread.get(c.id) || 0;
    const li = el("li", { class: c.id === state.chatId ? "active" : "", "data-chat": String(c.id) },
      el("div", {},
        el("div", { class: "chat-name", text: (c.type === "private" ? "🤖 " : "👥 ") + name }),
        el("div", { class: "chat-last muted small", text: c.last || "" })),
      unread ? el("span", { class: "badge", text: String(unread) }) : null);
    li.addEventListener("click", () => selectChat(c.id).catch((e) => toast(e.message)));
    list.append(li);
  }
  const joined = new Set(state.chats.map((c) => c.id));
  const joinable = state.groups.filter((g) => !joined.has(g.id));
  $("join-form").hidden = !state.me || joinable.length === 0;
  $("join-select").replaceChildren(...joinable.map((g) => el("option", { value: String(g.id), text: g.title })));
}

async function selectChat(chatId) {
  state.chatId = chatId;
  state.unread.delete(chatId);
  renderChats();
  await loadMessages();
}

async function loadMessages() {
  if (!state.me || state.chatId === null) return;
  const data = await api("messages?user_id=" + state.me + "&chat_id=" + state.chatId);
  state.messages = new Map(data.messages.map((m) => [m.message_id, m]));
  state.commands = data.commands;
  state.replyKeyboard = data.reply_keyboard;
  const chat = data.chat;
  state.chat = chat;
  $("chat-title").textContent = chat.type === "private" ? state.bot.name : chat.title;
  $("chat-sub").textContent = chat.type === "private" ? "@" + state.bot.username + " · 机器人" : "群聊";
  renderMessages();
  renderReplyKeyboard();
}

// ---------------------------------------------------------------------------------------------
// rendering messages

function renderMessages() {
  const box = $("messages");
  const readingAt = box.scrollTop; // someone reading older messages stays where they are
  box.replaceChildren();
  const visible = [...state.messages.values()].filter((m) => !m.deleted);
  if (!visible.length) box.append(emptyChat());
  for (const m of visible) box.append(renderMessage(m));
  if (box.dataset.chat !== String(state.chatId)) {
    state.stickBottom = true; // a chat opens at its newest
    hideJump();
  }
  box.scrollTop = state.stickBottom ? box.scrollHeight : readingAt;
  box.dataset.chat = String(state.chatId);
}

function renderMessage(m) {
  const mine = !m.from_bot && m.from_id === state.me;
  const wrap = el("div", { class: "msg " + (m.kind === "service" ? "service" : mine ? "mine" : "theirs"), "data-id": String(m.message_id) });
  const bubble = el("div", { class: "bubble" });
  if (m.kind === "service") {
    bubble.textContent = serviceText(m);
    wrap.append(bubble);
    return wrap;
  }
  const chat = state.chats.find((c) => c.id === state.chatId);
  if (chat && chat.type !== "private" && !mine) bubble.append(el("div", { class: "sender", text: m.from_bot ? state.bot.name : m.from_name }));
  if (m.reply_to_message_id) {
    const target = state.messages.get(m.reply_to_message_id);
    if (target) bubble.append(el("div", { class: "reply-quote", text: (target.text || kindLabel(target.kind)).slice(0, 80) }));
  }
  if (m.photo && m.photo.length) {
    const big = m.photo[m.photo.length - 1];
    const img = el("img", { src: "/ui/file/" + encodeURIComponent(big.file_id), alt: "图片" });
    img.addEventListener("load", () => {
      const box = $("messages");
      if (state.stickBottom) box.scrollTop = box.scrollHeight;
    });
    bubble.append(img);
  }
  if (m.document) {
    bubble.append(el("a", { href: "/ui/file/" + encodeURIComponent(m.document.file_id), download: m.document.file_name || "file", text: "📄 " + (m.document.file_name || "文件") }));
    bubble.append("\n");
  }
  if (m.location) bubble.append("📍 位置：" + m.location.latitude.toFixed(5) + ", " + m.location.longitude.toFixed(5));
  if (m.contact) bubble.append("👤 " + [m.contact.first_name, m.contact.last_name].filter(Boolean).join(" ") + "  " + m.contact.phone_number);
  if (m.text) bubble.append(renderText(m.text, m.entities || []));
  bubble.append(el("div", { class: "meta", text: (m.pinned ? "📌 " : "") + (m.edited ? "已编辑 " : "") + timeLabel(m.date) }));
  wrap.append(bubble);
  const kb = m.reply_markup && m.reply_markup.inline_keyboard;
  if (kb && kb.length) {
    wrap.classList.add("has-kb");
    wrap.append(renderInlineKeyboard(m, kb));
  }
  return wrap;
}

/** An empty chat: a private chat with the bot offers Telegram's big "开始" (Start) button. */
function emptyChat() {
  if (!state.chat || state.chat.type !== "private") {
    return el("div", { class: "empty", text: "还没有消息。发一句“你好”或者点 ☰ 看看命令吧。" });
  }
  const start = el("button", { type: "button", id: "start-btn", class: "primary start-btn", text: "开始" });
  start.addEventListener("click", () => once("start", () => sendText("/start")));
  return el("div", { class: "empty" },
    el("p", { text: "这是您和「" + (state.bot ? state.bot.name : "机器人") + "」的私聊。点“开始”，它就会和您打招呼。" }),
    start);
}

function kindLabel(kind) {
  return { photo: "[图片]", document: "[文件]", location: "[位置]", contact: "[联系人]" }[kind] || "";
}

function serviceText(m) {
  const x = m.extra || {};
  if (x.new_chat_members) return x.new_chat_members.map((u) => u.first_name).join("、") + " 加入了群聊";
  if (x.left_chat_member) return x.left_chat_member.first_name + " 离开了群聊";
  return "通知";
}

/** Text with Telegram entities (UTF-16 offsets, which is what JS strings index). */
function renderText(text, entities) {
  const frag = document.createDocumentFragment();
  const cuts = new Set([0, text.length]);
  for (const e of entities) {
    cuts.add(e.offset);
    cuts.add(Math.min(text.length, e.offset + e.length));
  }
  const points = [...cuts].sort((a, b) => a - b);
  for (let i = 0; i < points.length - 1; i++) {
    const from = points[i];
    const to = points[i + 1];
    const piece = text.slice(from, to);
    if (!piece) continue;
    const active = entities.filter((e) => e.offset <= from && e.offset + e.length >= to);
    let node = document.createTextNode(piece);
    for (const e of active) {
      let wrapper = null;
      switch (e.type) {
        case "bold": wrapper = el("b"); break;
        case "italic": wrapper = el("i"); break;
        case "underline": wrapper = el("u"); break;
        case "strikethrough": wrapper = el("s"); break;
        case "code": wrapper = el("code"); break;
        case "pre": wrapper = el("pre"); break;
        case "blockquote": case "expandable_blockquote": wrapper = el("blockquote"); break;
        case "spoiler": wrapper = el("span", { class: "spoiler", onclick: (ev) => ev.currentTarget.classList.add("shown") }); break;
        case "text_link": wrapper = linkNode(e.url); break;
        case "url": wrapper = linkNode(piece.startsWith("http") ? piece : "https://" + piece); break;
        default: break;
      }
      if (wrapper) {
        wrapper.append(node);
        node = wrapper;
      }
    }
    frag.append(node);
  }
  return frag;
}

function linkNode(url) {
  const a = el("a", { href: url, target: "_blank", rel: "noopener noreferrer" });
  a.addEventListener("click", (ev) => {
    if (isOwnStartLink(url)) {
      ev.preventDefault();
      once("link:" + url, () => openLink(url));
    }
  });
  return a;
}

function renderInlineKeyboard(m, rows) {
  const box = el("div", { class: "inline-kb" });
  for (const row of rows) {
    const r = el("div", { class: "kb-row" });
    for (const b of row) {
      const btn = el("button", { type: "button", text: b.url ? b.text + " ↗" : b.text });
      btn.addEventListener("click", () => pressInline(m, b, btn));
      r.append(btn);
    }
    box.append(r);
  }
  return box;
}

function pressInline(m, b, btn) {
  if (b.callback_data !== undefined) {
    const key = "press:" + m.chat_id + ":" + m.message_id + ":" + b.callback_data;
    btn.classList.add("busy");
    once(key, async () => {
      try {
        await api("press", { user_id: state.me, chat_id: m.chat_id, message_id: m.message_id, data: b.callback_data });
      } finally {
        setTimeout(() => btn.classList.remove("busy"), 800);
      }
    }, 1200);
  } else if (b.url) {
    if (isOwnStartLink(b.url)) once("link:" + b.url, () => openLink(b.url));
    else window.open(b.url, "_blank", "noopener");
  } else if (b.copy_text) {
    navigator.clipboard?.writeText(b.copy_text.text || "");
    toast("已复制");
  } else {
    toast("这个按钮在本地演示里用不了");
  }
}

// ---------------------------------------------------------------------------------------------
// reply keyboard and command menu

function renderReplyKeyboard() {
  const box = $("reply-keyboard");
  const kb = state.replyKeyboard;
  box.replaceChildren();
  if (!kb || !kb.keyboard || !kb.keyboard.length) {
    box.hidden = true;
    return;
  }
  for (const row of kb.keyboard) {
    const r = el("div", { class: "kb-row" });
    for (const b of row) {
      const button = typeof b === "string" ? { text: b } : b;
      const label = button.text + (button.request_contact ? " 📞" : button.request_location ? " 📍" : "");
      r.append(el("button", { type: "button", text: label, onclick: () => pressReplyButton(button) }));
    }
    box.append(r);
  }
  box.hidden = false;
}

function pressReplyButton(button) {
  if (button.request_contact) return askContact();
  if (button.request_location) return askLocation();
  once("reply:" + button.text, () => sendText(button.text));
}

function renderCommandMenu(filter) {
  const menu = $("command-menu");
  menu.replaceChildren();
  const cmds = state.commands.filter((c) => !filter || ("/" + c.command).startsWith(filter));
  if (!cmds.length) {
    if (filter === null) menu.append(el("div", { class: "muted small", style: "padding:10px 16px", text: "机器人还没有设置命令菜单" }));
    else {
      menu.hidden = true;
      return;
    }
  }
  for (const c of cmds) {
    menu.append(el("button", { type: "button", onclick: () => {
      menu.hidden = true;
      $("text-input").value = "";
      const chat = state.chats.find((x) => x.id === state.chatId);
      const suffix = chat && chat.type !== "private" ? "@" + state.bot.username : "";
      once("cmd:" + c.command, () => sendText("/" + c.command + suffix));
    } }, el("span", { class: "cmd", text: "/" + c.command }), el("span", { text: c.description })));
  }
  menu.hidden = false;
}

// ---------------------------------------------------------------------------------------------
// sending

function requireChat() {
  if (!state.me || state.chatId === null) {
    toast("请先在左边选择身份和聊天");
    return false;
  }
  return true;
}

const TEXT_LIMIT = 4096; // Telegram's limit per message
const MAX_PARTS = 10;

/** Like Telegram's apps, a text over the limit goes out as several messages (cut at a line break or space
 * near the end of each part when there is one). */
function splitLongText(text) {
  const chars = Array.from(text); // code points: never cut an emoji in half
  const parts = [];
  let start = 0;
  while (start < chars.length) {
    let end = Math.min(start + TEXT_LIMIT, chars.length);
    if (end < chars.length) {
      for (let i = end; i > start + TEXT_LIMIT * 0.8; i--) {
        if (chars[i - 1] === "\n" || chars[i - 1] === " ") {
          end = i;
          break;
        }
      }
    }
    const part = chars.slice(start, end).join("").replace(/\s+$/, "");
    if (part.trim()) parts.push(part);
    start = end;
  }
  return parts;
}

async function sendText(text) {
  if (!requireChat()) return;
  const clean = text.replace(/\s+$/, "");
  if (!clean.trim()) return;
  const parts = splitLongText(clean);
  if (parts.length > MAX_PARTS) throw new Error("消息太长了，请分几次发（每条最多 " + TEXT_LIMIT + " 个字）");
  state.stickBottom = true; // as in Telegram, what you send brings you back to the newest messages
  hideJump();
  for (const part of parts) await api("send", { user_id: state.me, chat_id: state.chatId, text: part });
}

function askContact() {
  if (!requireChat()) return;
  $("phone-input").value = "";
  $("contact-dialog").showModal();
}

function askLocation() {
  if (!requireChat()) return;
  // Named places (the demo's patrol checkpoints) are one tap away; any coordinates can still be typed.
  const list = $("location-places");
  list.replaceChildren();
  for (const place of state.places || []) {
    const b = document.createElement("button");
    b.type = "button";
    b.textContent = "📍 " + place.name;
    b.addEventListener("click", () => {
      $("lat-input").value = String(place.latitude);
      $("lon-input").value = String(place.longitude);
    });
    list.append(b);
  }
  list.hidden = !(state.places || []).length;
  $("location-dialog").showModal();
}

// ---------------------------------------------------------------------------------------------
// live events (SSE) with automatic reconnection

let source = null;
let reconnectTimer = null;

function connectEvents() {
  if (source) source.close();
  source = new EventSource("/ui/events");
  source.onopen = () => {
    $("banner-stream").hidden = true;
    // catch up with anything missed while disconnected
    loadState().then(loadChats).then(loadMessages).catch(() => {});
  };
  source.onmessage = (ev) => {
    let event;
    try {
      event = JSON.parse(ev.data);
    } catch (err) {
      return;
    }
    handleEvent(event);
  };
  source.onerror = () => {
    $("banner-stream").hidden = false;
    if (source.readyState === EventSource.CLOSED) {
      clearTimeout(reconnectTimer);
      reconnectTimer = setTimeout(connectEvents, 2000);
    }
  };
}

function setConnected(connected) {
  state.connected = connected;
  $("banner-offline").hidden = connected !== false;
}

function handleEvent(e) {
  switch (e.type) {
    case "status":
      setConnected(e.connected);
      break;
    case "message":
    case "edit":
      if (e.chat_id === state.chatId) {
        const isNew = e.type === "message" && !state.messages.has(e.message.message_id);
        state.messages.set(e.message.message_id, e.message);
        renderMessages();
        if (isNew && !state.stickBottom) showJump(1);
        if (e.type === "message" && e.message.from_bot) refreshKeyboardSoon();
      } else if (e.type === "message" && state.chats.some((c) => c.id === e.chat_id)) {
        state.unread.set(e.chat_id, (state.unread.get(e.chat_id) || 0) + 1);
      }
      if (e.type === "message") {
        const known = state.chats.some((c) => c.id === e.chat_id);
        const mine = e.chat_id === state.me;
        if (known || mine) {
          const chat = state.chats.find((c) => c.id === e.chat_id);
          if (chat) chat.last = e.message.text || kindLabel(e.message.kind);
          renderChats();
        }
      }
      break;
    case "delete":
      if (e.chat_id === state.chatId && state.messages.has(e.message_id)) {
        state.messages.get(e.message_id).deleted = true;
        renderMessages();
      }
      break;
    case "callback_answer":
      if (e.user_id === state.me && e.answer) {
        if (e.answer.url && isOwnStartLink(e.answer.url)) openLink(e.answer.url).catch((err) => toast(err.message));
        else if (e.answer.text && e.answer.show_alert) showAlert(e.answer.text);
        else if (e.answer.text) toast(e.answer.text);
      }
      break;
    case "action":
      if (e.chat_id === state.chatId) showTyping();
      break;
    case "commands":
      if (state.me) loadMessages().catch(() => {});
      break;
    case "user":
    case "chat":
      loadState().then(loadChats).catch(() => {});
      break;
    case "shutdown":
      $("banner-stream").hidden = false;
      break;
    default:
      break;
  }
}

/** "↓ 2": new messages arrived while the person was reading older ones. */
let jumpCount = 0;
function showJump(more) {
  jumpCount += more;
  $("jump-count").textContent = jumpCount ? String(jumpCount) : "";
  $("jump-btn").hidden = false;
}

function hideJump() {
  jumpCount = 0;
  $("jump-btn").hidden = true;
}

let keyboardTimer = null;
function refreshKeyboardSoon() {
  clearTimeout(keyboardTimer);
  keyboardTimer = setTimeout(() => loadMessages().catch(() => {}), 150);
}

let typingTimer = null;
function showTyping() {
  const sub = $("chat-sub");
  if (!sub.dataset.base) sub.dataset.base = sub.textContent;
  sub.textContent = "正在输入…";
  clearTimeout(typingTimer);
  typingTimer = setTimeout(() => {
    sub.textContent = sub.dataset.base || "";
    delete sub.dataset.base;
  }, 4000);
}

// ---------------------------------------------------------------------------------------------
// wiring

function wire() {
  // Follow the newest message unless the person scrolled up to read: only their own wheel, touch, key or
  // scrollbar drag lets go of the bottom (layout changes and our own scrolling do not).
  const box = $("messages");
  let userScrollUntil = 0;
  const byUser = () => { userScrollUntil = Date.now() + 700; };
  for (const name of ["wheel", "touchmove", "keydown", "pointerdown"]) box.addEventListener(name, byUser, { passive: true });
  box.addEventListener("scroll", () => {
    if (box.scrollHeight - box.scrollTop - box.clientHeight < 80) {
      state.stickBottom = true;
      hideJump();
    } else if (Date.now() < userScrollUntil) {
      if (state.stickBottom) showJump(0);
      state.stickBottom = false;
    }
  });
  $("jump-btn").addEventListener("click", () => {
    state.stickBottom = true;
    box.scrollTop = box.scrollHeight;
    hideJump();
  });
  // the chat area shrinks when a keyboard, the command menu or a banner appears: keep the newest in view
  new ResizeObserver(() => {
    if (state.stickBottom) box.scrollTop = box.scrollHeight;
  }).observe(box);
  $("person-select").addEventListener("change", (ev) => {
    const id = ev.target.value ? Number(ev.target.value) : null;
    selectPerson(id).catch((e) => toast(e.message));
  });

  $("new-person-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    once("new-person", async () => {
      const name = $("new-name").value.trim();
      const id = $("new-id").value.trim();
      const data = await api("users", { name, user_id: id || null });
      $("new-name").value = "";
      $("new-id").value = "";
      $("new-person").open = false;
      await loadState();
      await selectPerson(data.user.id);
      toast("已新建：" + name);
    });
  });

  $("link-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const link = $("link-input").value.trim();
    if (!link) return;
    once("open-link:" + link, async () => {
      await openLink(link);
      $("link-input").value = "";
    });
  });

  $("join-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const chatId = Number($("join-select").value);
    if (!chatId) return;
    once("join", async () => {
      await api("join", { user_id: state.me, chat_id: chatId });
      await loadChats();
      await selectChat(chatId);
    });
  });

  const input = $("text-input");
  // The box empties at once (so Enter pressed twice sends once) and messages go out one after another, in
  // the order typed; a message that could not be sent comes back into the empty box.
  let sending = Promise.resolve();
  const submit = () => {
    const text = input.value;
    if (!text.trim() || !requireChat()) return;
    input.value = "";
    input.style.height = "";
    $("command-menu").hidden = true;
    sending = sending.then(() => sendText(text)).catch((err) => {
      if (!input.value) input.value = text;
      toast(err.message);
    });
  };
  $("composer").addEventListener("submit", (ev) => {
    ev.preventDefault();
    submit();
  });
  input.addEventListener("keydown", (ev) => {
    if (ev.key === "Enter" && !ev.shiftKey && !ev.isComposing) {
      ev.preventDefault();
      submit();
    }
  });
  input.addEventListener("input", () => {
    input.style.height = "";
    input.style.height = Math.min(input.scrollHeight, 160) + "px";
    const v = input.value;
    if (v.startsWith("/") && !v.includes(" ")) renderCommandMenu(v);
    else if (!$("command-menu").hidden && !v.startsWith("/")) $("command-menu").hidden = true;
  });

  $("menu-btn").addEventListener("click", () => {
    const menu = $("command-menu");
    if (!menu.hidden) menu.hidden = true;
    else renderCommandMenu(null);
  });

  $("attach-btn").addEventListener("click", () => {
    $("attach-menu").hidden = !$("attach-menu").hidden;
  });
  document.querySelectorAll("[data-attach]").forEach((b) => b.addEventListener("click", () => {
    $("attach-menu").hidden = true;
    const what = b.dataset.attach;
    if (what === "photo") {
      if (requireChat()) $("file-input").click();
    } else if (what === "location") askLocation();
    else askContact();
  }));

  $("file-input").addEventListener("change", () => {
    const file = $("file-input").files[0];
    $("file-input").value = "";
    if (!file) return;
    once("photo", async () => {
      const form = new FormData();
      form.append("user_id", String(state.me));
      form.append("chat_id", String(state.chatId));
      form.append("caption", $("text-input").value.trim());
      form.append("file", file, file.name);
      await api("photo", form);
      $("text-input").value = "";
    });
  });

  $("location-dialog").addEventListener("close", () => {
    if ($("location-dialog").returnValue !== "ok") return;
    once("location", () => api("location", {
      user_id: state.me, chat_id: state.chatId,
      latitude: $("lat-input").value.trim(), longitude: $("lon-input").value.trim(),
    }));
  });

  $("contact-dialog").addEventListener("close", () => {
    if ($("contact-dialog").returnValue !== "ok") return;
    once("contact", () => api("contact", { user_id: state.me, chat_id: state.chatId, phone: $("phone-input").value.trim() }));
  });
}

async function main() {
  wire();
  const params = new URLSearchParams(location.search);
  if (params.has("start")) {
    state.pendingStart = params.get("start");
    const banner = $("banner-link");
    banner.textContent = "扫码打开：" + (state.pendingStart || "（无代码）") + " —— 请先在左边选择身份";
    banner.hidden = false;
  }
  try {
    await loadState();
  } catch (err) {
    toast(err.message);
  }
  const wanted = Number(params.get("user") || localStorage.getItem("emulator.me") || 0);
  const known = state.users.some((u) => u.user_id === wanted);
  if (wanted && known && (params.has("user") || !state.pendingStart)) await selectPerson(wanted).catch((e) => toast(e.message));
  else if (wanted && known && state.pendingStart !== null) {
    $("person-select").value = "";
  }
  connectEvents();
}

main();
