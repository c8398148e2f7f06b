from exofop_mcp.cli import main

raise SystemExit(main())
