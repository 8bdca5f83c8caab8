-- RubberDuck for Neovim: starts `rubberduck lsp` for the buffers of a
-- shared project, keeps didChange undebounced, and shows other people's
-- cursors. Works on Neovim 0.7 (vim.lsp.start_client) and 0.8+ (vim.lsp.start).
local M = {}

local api = vim.api
local uv = vim.loop

M.config = {
  cmd = 'rubberduck',        -- the rubberduck binary
  hub = os.getenv('RUBBERDUCK_HUB') or 'ws://127.0.0.1:7777/lsp',
  project = os.getenv('RUBBERDUCK_PROJECT'),
  token_file = nil,          -- else RUBBERDUCK_TOKEN is passed through the environment
  root = nil,                -- project folder on this machine (default: cwd)
  log_file = nil,            -- where the proxy logs (default: its stderr, which Neovim discards)
  name = os.getenv('USER'),
  cursors = true,            -- show other people's cursors
  undo = true,               -- u and <C-r> in shared buffers undo and redo only your own edits
}

M.client_id = nil
M.status = 'stopped'
local ns = api.nvim_create_namespace('rubberduck_cursors')
local marks = {}   -- person session -> { bufnr, id }
local hl_made = {}

local function has_start() return vim.lsp.start ~= nil end

local function in_root(fname)
  local root = M.config.root
  if fname == '' then return false end
  fname = vim.fn.fnamemodify(fname, ':p')
  return fname:sub(1, #root + 1) == root .. '/'
end

local function encoding()
  local c = M.client_id and vim.lsp.get_client_by_id(M.client_id)
  return (c and c.offset_encoding) or 'utf-16'
end

-- Column conversion between the negotiated encoding and Neovim's bytes.
local function to_byte(line, character)
  local enc = encoding()
  if enc == 'utf-8' then return math.min(character, #line) end
  local ok, col = pcall(vim.str_byteindex, line, character, enc == 'utf-16')
  if ok then return col end
  return #line
end

local function from_byte(line, col)
  local enc = encoding()
  if enc == 'utf-8' then return col end
  local ok, u32, u16 = pcall(vim.str_utfindex, line, math.min(col, #line))
  if not ok then return col end
  if enc == 'utf-16' then return u16 end
  return u32
end

local function hl_for(color)
  color = color or '#e5534b'
  local name = 'RubberDuckCursor' .. color:gsub('#', '')
  if not hl_made[name] then
    api.nvim_set_hl(0, name, { bg = color, fg = '#ffffff' })
    api.nvim_set_hl(0, name .. 'Label', { fg = color, italic = true })
    hl_made[name] = true
  end
  return name
end

-- $/rubberduck/cursor from the proxy: someone else's selections.
local function on_cursor(_, params)
  if not M.config.cursors or not params or not params.person then return end
  local key = params.person.session or params.person.id
  local old = marks[key]
  if old and api.nvim_buf_is_valid(old.bufnr) then
    pcall(api.nvim_buf_del_extmark, old.bufnr, ns, old.id)
  end
  marks[key] = nil
  if not params.uri or not params.selections or #params.selections == 0 then return end
  local bufnr = vim.uri_to_bufnr(params.uri)
  if not api.nvim_buf_is_loaded(bufnr) then return end
  local head = params.selections[1].head
  local count = api.nvim_buf_line_count(bufnr)
  local row = math.min(head.line, count - 1)
  local text = api.nvim_buf_get_lines(bufnr, row, row + 1, false)[1] or ''
  local col = to_byte(text, head.character)
  local hl = hl_for(params.person.color)
  local opts = {
    virt_text = { { ' ' .. (params.person.name or '?'), hl .. 'Label' } },
    virt_text_pos = 'eol',
    hl_mode = 'combine',
  }
  if col < #text then
    opts.end_col = col + 1
    opts.hl_group = hl
  end
  local ok, id = pcall(api.nvim_buf_set_extmark, bufnr, ns, row, col, opts)
  if ok then marks[key] = { bufnr = bufnr, id = id } end
end

local function on_presence(_, params)
  if params and params.event == 'leave' and params.person then
    on_cursor(nil, { person = params.person, selections = {} })
  end
end

local function on_status(_, params)
  if params and params.state then
    M.status = params.state
    vim.g.rubberduck_status = params.state
  end
  if params and params.message and params.message ~= '' then
    M.message = params.message
    vim.g.rubberduck_message = params.message
  end
end

-- set_text replaces bytes [sc, ec) of rows sr..er with lines. Neovim before
-- 0.8 (Debian's 0.7.2 among them) has a heap-use-after-free in
-- nvim_buf_set_text when the range spans lines (neovim#19643, fixed in
-- 0.8): the start line can be replaced by garbage bytes. There, a
-- multi-line edit is made with nvim_buf_set_lines on the whole lines.
local safe_set_text = vim.fn.has('nvim-0.8') == 1
local function set_text(bufnr, sr, sc, er, ec, lines)
  if safe_set_text or sr == er then
    api.nvim_buf_set_text(bufnr, sr, sc, er, ec, lines)
    return
  end
  local old = api.nvim_buf_get_lines(bufnr, sr, er + 1, true)
  local new = vim.list_extend({}, lines)
  new[1] = old[1]:sub(1, sc) .. new[1]
  new[#new] = new[#new] .. old[#old]:sub(ec + 1)
  api.nvim_buf_set_lines(bufnr, sr, er + 1, true, new)
end

-- byte_col turns an LSP character offset on line into a byte column.
local function byte_col(line, character, enc)
  if enc == 'utf-8' then return math.min(character, #line) end
  local ok, col = pcall(vim.str_byteindex, line, character, enc == 'utf-16')
  if ok then return col end
  return #line
end

-- apply_text_edits applies LSP text edits to bufnr the way
-- vim.lsp.util.apply_text_edits does (edits applied from the last to the
-- first, a range past the last line clamped to the end, the cursor kept
-- beside the text it was on), through set_text.
local function apply_text_edits(edits, bufnr, enc)
  if not api.nvim_buf_is_loaded(bufnr) then vim.fn.bufload(bufnr) end
  local list = {}
  for i, e in ipairs(edits) do
    local s, en = e.range.start, e.range['end']
    if s.line > en.line or (s.line == en.line and s.character > en.character) then s, en = en, s end
    list[#list + 1] = { s = s, e = en, text = (e.newText:gsub('\r\n?', '\n')), i = i }
  end
  table.sort(list, function(a, b)
    if a.s.line ~= b.s.line then return a.s.line > b.s.line end
    if a.s.character ~= b.s.character then return a.s.character > b.s.character end
    return a.i > b.i
  end)
  local is_current = api.nvim_get_current_buf() == bufnr
  local cur = is_current and api.nvim_win_get_cursor(0) or nil
  local row, col = cur and cur[1] - 1 or -1, cur and cur[2] or -1
  local past_end = false
  for _, e in ipairs(list) do
    local lines = vim.split(e.text, '\n', true)
    local count = api.nvim_buf_line_count(bufnr)
    local function at(p)
      if p.line >= count then
        past_end = true
        return count - 1, #(api.nvim_buf_get_lines(bufnr, count - 1, count, true)[1] or ''), true
      end
      local line = api.nvim_buf_get_lines(bufnr, p.line, p.line + 1, true)[1] or ''
      return p.line, byte_col(line, p.character, enc), false
    end
    local sr, sc, clamped = at(e.s)
    local er, ec = at(e.e)
    if clamped then table.insert(lines, 1, '') end
    set_text(bufnr, sr, sc, er, ec, lines)
    local rows = er - sr + 1
    if er < row then
      row = row + #lines - rows
    elseif er == row and ec <= col then
      col = #lines[#lines] + (col - ec) + (#lines == 1 and sc or 0)
      row = row + #lines - rows
    end
  end
  local count = api.nvim_buf_line_count(bufnr)
  if cur and row >= 0 and row < count then
    local line = api.nvim_buf_get_lines(bufnr, row, row + 1, true)[1] or ''
    pcall(api.nvim_win_set_cursor, 0, { row + 1, math.min(col, #line) })
  end
  -- An edit past the end leaves an empty last line that 'eol' stands for.
  if past_end and count > 1 and vim.bo[bufnr].eol and (api.nvim_buf_get_lines(bufnr, count - 1, count, true)[1] or '') == '' then
    api.nvim_buf_set_lines(bufnr, count - 1, count, true, {})
  end
end

-- The proxy's workspace/applyEdit: a versioned edit for a buffer that moved
-- on is refused with applied=false (Neovim would apply an edit addressed to
-- version 0 whatever the buffer's version, and answer applied=true to a
-- stale one); the proxy re-sends it transformed either way.
local function on_apply_edit(_, params, ctx)
  if not params or not params.edit then return { applied = false, failureReason = 'no edit' } end
  local client = vim.lsp.get_client_by_id(ctx.client_id)
  local enc = (client and client.offset_encoding) or 'utf-16'
  local changes = params.edit.documentChanges or {}
  for _, change in ipairs(changes) do
    local td = change.textDocument
    if td and td.version and td.version ~= vim.NIL then
      local have = vim.lsp.util.buf_versions[vim.uri_to_bufnr(td.uri)]
      if have and have ~= td.version then
        return { applied = false, failureReason = 'buffer changed' }
      end
    end
  end
  local ok, err = pcall(function()
    for _, change in ipairs(changes) do
      if change.edits then
        apply_text_edits(change.edits, vim.uri_to_bufnr(change.textDocument.uri), enc)
      end
    end
  end)
  return { applied = ok, failureReason = (not ok) and tostring(err) or nil }
end

local function capabilities()
  local caps = vim.lsp.protocol.make_client_capabilities()
  caps.general = caps.general or {}
  -- Neovim counts bytes, so UTF-8 is its natural unit, but before 0.10 its
  -- incremental sync was only reliable in UTF-16 (the end-to-end tests saw
  -- 0.7.2 split multi-byte characters in UTF-8): offer what is safe first.
  local encs = { 'utf-16', 'utf-8' }
  if vim.fn.has('nvim-0.10') == 1 then encs = { 'utf-8', 'utf-16' } end
  caps.general.positionEncodings = encs
  caps.offsetEncoding = encs -- Neovim 0.7 reads the answer in on_init
  return caps
end

function M.client_config()
  local c = M.config
  local cmd = { c.cmd, 'lsp', '--hub', c.hub, '--project', c.project, '--root', c.root, '--client', 'nvim' }
  if c.token_file then vim.list_extend(cmd, { '--token-file', c.token_file }) end
  if c.log_file then vim.list_extend(cmd, { '--log-file', c.log_file }) end
  return {
    name = 'rubberduck',
    cmd = cmd,
    root_dir = c.root,
    workspace_folders = { { uri = vim.uri_from_fname(c.root), name = c.project } },
    flags = { debounce_text_changes = 0, allow_incremental_sync = true },
    capabilities = capabilities(),
    handlers = {
      ['$/rubberduck/cursor'] = on_cursor,
      ['$/rubberduck/presence'] = on_presence,
      ['$/rubberduck/status'] = on_status,
      ['workspace/applyEdit'] = on_apply_edit,
    },
    on_init = function(client, result)
      local enc = result.offsetEncoding or (result.capabilities and result.capabilities.positionEncoding)
      if enc then client.offset_encoding = enc end
    end,
    on_exit = function() M.client_id = nil; M.status = 'stopped' end,
  }
end

-- undo reverts your own last edit in the current shared buffer (redo: brings
-- back the one you last undid), leaving everyone else's edits alone. Neovim's
-- own undo would also revert the edits of others it has been shown. Outside
-- shared buffers, or before the proxy runs, it is Neovim's undo.
function M.undo(redo)
  local bufnr = api.nvim_get_current_buf()
  local client = M.client_id and vim.lsp.get_client_by_id(M.client_id)
  local native = function() vim.cmd('normal! ' .. vim.v.count1 .. (redo and '\18' or 'u')) end
  if not client or not vim.lsp.buf_is_attached(bufnr, M.client_id) then return native() end
  local params = { command = redo and 'rubberduck.redo' or 'rubberduck.undo', arguments = { vim.uri_from_bufnr(bufnr) } }
  for _ = 1, vim.v.count1 do
    local res, err = client.request_sync('workspace/executeCommand', params, 2000, bufnr)
    if not res or res.err then
      vim.notify('rubberduck: ' .. tostring((res and res.err and res.err.message) or err or 'no answer'), vim.log.levels.WARN)
      return
    end
    if not (res.result and res.result.done) then
      vim.notify(redo and 'Already at newest change' or 'Already at oldest change')
      return
    end
  end
end

-- attach starts the proxy if needed and attaches bufnr to it.
function M.attach(bufnr)
  bufnr = (bufnr == nil or bufnr == 0) and api.nvim_get_current_buf() or bufnr
  if not in_root(api.nvim_buf_get_name(bufnr)) or vim.bo[bufnr].buftype ~= '' then return end
  if M.config.undo then
    vim.keymap.set('n', 'u', function() M.undo(false) end, { buffer = bufnr, desc = 'RubberDuck: undo my last edit' })
    vim.keymap.set('n', '<C-r>', function() M.undo(true) end, { buffer = bufnr, desc = 'RubberDuck: redo my last undone edit' })
  end
  if has_start() then
    M.client_id = vim.lsp.start(M.client_config(), { bufnr = bufnr })
    return
  end
  if not M.client_id or vim.lsp.client_is_stopped(M.client_id) then
    M.client_id = vim.lsp.start_client(M.client_config())
  end
  if M.client_id then vim.lsp.buf_attach_client(bufnr, M.client_id) end
end

-- send_cursor tells the others where the cursor of the current buffer is.
function M.send_cursor()
  local client = M.client_id and vim.lsp.get_client_by_id(M.client_id)
  if not client then return end
  local bufnr = api.nvim_get_current_buf()
  if not vim.lsp.buf_is_attached(bufnr, M.client_id) then return end
  local pos = api.nvim_win_get_cursor(0)
  local row, col = pos[1] - 1, pos[2]
  local line = api.nvim_buf_get_lines(bufnr, row, row + 1, false)[1] or ''
  local p = { line = row, character = from_byte(line, col) }
  client.notify('$/rubberduck/cursor', {
    uri = vim.uri_from_bufnr(bufnr),
    selections = { { anchor = p, head = p } },
  })
end

-- send_focus tells the others which file and lines this window shows
-- (presence and follow mode).
function M.send_focus()
  local client = M.client_id and vim.lsp.get_client_by_id(M.client_id)
  if not client then return end
  local bufnr = api.nvim_get_current_buf()
  if not vim.lsp.buf_is_attached(bufnr, M.client_id) then return end
  client.notify('$/rubberduck/presence/focus', {
    uri = vim.uri_from_bufnr(bufnr),
    viewport = { start = vim.fn.line('w0') - 1, ['end'] = vim.fn.line('w$') - 1 },
  })
end

function M.setup(opts)
  M.config = vim.tbl_extend('force', M.config, opts or {})
  if not M.config.project then
    vim.notify('rubberduck: set project (setup{project=...} or RUBBERDUCK_PROJECT)', vim.log.levels.ERROR)
    return
  end
  M.config.root = vim.fn.fnamemodify(M.config.root or vim.fn.getcwd(), ':p'):gsub('/$', '')
  local group = api.nvim_create_augroup('rubberduck', { clear = true })
  api.nvim_create_autocmd({ 'BufReadPost', 'BufNewFile' }, {
    group = group,
    callback = function(a) M.attach(a.buf) end,
  })
  api.nvim_create_autocmd({ 'CursorMoved', 'CursorMovedI' }, {
    group = group,
    callback = function() M.send_cursor() end,
  })
  api.nvim_create_autocmd({ 'BufEnter', 'WinScrolled' }, {
    group = group,
    callback = function() M.send_focus() end,
  })
  for _, b in ipairs(api.nvim_list_bufs()) do
    if api.nvim_buf_is_loaded(b) then M.attach(b) end
  end
end

return M
