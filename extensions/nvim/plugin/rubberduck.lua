-- Commands for RubberDuck; setup() is called by the user's config.
vim.api.nvim_create_user_command('RubberDuckStatus', function()
  local rd = require('rubberduck')
  print('rubberduck: ' .. (rd.status or 'stopped') .. ' (' .. (rd.config.project or '?') .. ' @ ' .. rd.config.hub .. ')')
end, {})
vim.api.nvim_create_user_command('RubberDuckUndo', function() require('rubberduck').undo(false) end,
  { desc = 'Undo your own last edit in this shared buffer (others\' edits stay)' })
vim.api.nvim_create_user_command('RubberDuckRedo', function() require('rubberduck').undo(true) end,
  { desc = 'Redo your own last undone edit in this shared buffer' })
