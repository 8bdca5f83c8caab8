-- Commands for RubberDuck; setup() is called by the user's config.
vim.api.nvim_create_user_command('RubberDuckStatus', function()
  local rd = require('rubberduck')
  print('rubberduck: ' .. (rd.status or 'stopped') .. ' (' .. (rd.config.project or '?') .. ' @ ' .. rd.config.hub .. ')')
end, {})
