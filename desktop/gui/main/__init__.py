"""The main window and the controllers and widgets it is built from: search bar, edit actions, context menu, empty state."""
