from exofop_mcp.replica.cli import main

raise SystemExit(main())
