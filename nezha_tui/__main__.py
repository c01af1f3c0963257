from nezha_tui.cli import main

raise SystemExit(main())
