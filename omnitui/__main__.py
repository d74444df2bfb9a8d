from omnitui.cli import main

main(prog_name="omnitui")
