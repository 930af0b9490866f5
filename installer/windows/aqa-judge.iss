; Inno Setup script for the Windows club installer (NOT run by this project's CI: it needs Windows).
; On the Windows build machine, after `scripts/package --variant cpu` (or cuda) has made dist\aqa-judge:
;   iscc /DAppVersion=0.1.0 /DVariant=cpu installer\windows\aqa-judge.iss
; writes dist\aqa-judge-0.1.0-windows-cpu-setup.exe, the one file a club runs.
;
; Upgrades: the AppId never changes, so a newer installer replaces the program in place. The
; user's data is never inside the program folder: the sessions database, the I3D weights and
; trained models live in %LOCALAPPDATA%\aqa-judge (platformdirs), the settings in the registry
; (HKCU\Software\aqa-judge\AQA Judge Assistant, QSettings). Upgrading keeps both; uninstalling
; keeps both unless the user answers Yes to the question at the end of the uninstall.

#ifndef AppVersion
  #define AppVersion "0.1.0"
#endif
#ifndef Variant
  #define Variant "cpu"
#endif
; scripts/package --dist DIR passes its folder; iscc resolves a relative one from this script's folder.
#ifndef DistDir
  #define DistDir "..\..\dist"
#endif

[Setup]
AppId={{6E2A7C1D-4B7F-4E0A-9C51-3A1D0E6A0001}
AppName=AQA Judge Assistant
AppVersion={#AppVersion}
AppPublisher=AQA Judge Assistant contributors
DefaultDirName={autopf}\AQA Judge Assistant
DefaultGroupName=AQA Judge Assistant
PrivilegesRequired=lowest
PrivilegesRequiredOverridesAllowed=dialog
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
OutputDir={#DistDir}
OutputBaseFilename=aqa-judge-{#AppVersion}-windows-{#Variant}-setup
SetupIconFile=..\..\resources\icons\aqa-judge.ico
UninstallDisplayIcon={app}\AQA Judge.exe
Compression=lzma2/max
SolidCompression=yes
; One file. Inno Setup needs DiskSpanning=yes (setup.exe plus .bin slices) once the compressed
; program passes 4.2 GB. The Linux CUDA tar.gz is 2.8 GB (README); the Windows CUDA build is unmeasured.
DiskSpanning=no
WizardStyle=modern

[Files]
; The whole onedir folder; an upgrade first removes the old program files (not the user's data).
Source: "{#DistDir}\aqa-judge\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[InstallDelete]
Type: filesandordirs; Name: "{app}\_internal"

[Icons]
Name: "{group}\AQA Judge Assistant"; Filename: "{app}\AQA Judge.exe"
Name: "{group}\AQA Judge Assistant self-test"; Filename: "{app}\aqa-judge.exe"; Parameters: "--self-test"
Name: "{group}\Uninstall AQA Judge Assistant"; Filename: "{uninstallexe}"
Name: "{autodesktop}\AQA Judge Assistant"; Filename: "{app}\AQA Judge.exe"; Tasks: desktopicon

[Tasks]
Name: "desktopicon"; Description: "Create a desktop shortcut"; Flags: unchecked

[Run]
Filename: "{app}\AQA Judge.exe"; Description: "Start AQA Judge Assistant"; Flags: nowait postinstall skipifsilent

[Code]
procedure CurUninstallStepChanged(CurUninstallStep: TUninstallStep);
var
  Data: String;
begin
  if CurUninstallStep = usPostUninstall then
  begin
    Data := ExpandConstant('{localappdata}\aqa-judge');
    if DirExists(Data) and (not UninstallSilent) and
       (MsgBox('Also delete your sessions database, trained models, I3D weights and settings?' + #13#10 + Data,
               mbConfirmation, MB_YESNO or MB_DEFBUTTON2) = IDYES) then
    begin
      DelTree(Data, True, True, True);
      RegDeleteKeyIncludingSubkeys(HKCU, 'Software\aqa-judge');
    end;
  end;
end;
